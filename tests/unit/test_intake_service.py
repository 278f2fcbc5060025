"""Intake: validate, claim the partner's reference, publish once, answer the same every time."""

import asyncio
import json
from datetime import date
from typing import Any

import pytest
from prometheus_client import REGISTRY

from hub.errors import (
    AmountMismatch,
    BrokerUnavailable,
    InDoubt,
    InvalidRequest,
    NotFound,
    ReferenceConflict,
)
from hub.intake.model import Acceptance, Partner, event_id_for
from hub.intake.ports import MemberTerms
from hub.intake.requests import InquiryRequest, PaymentRequest, RegistrationRequest
from hub.intake.service import IntakeService
from schemas.events import ContributionPaid, RegistrationSubmitted
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    JAKARTA_MAN_NIK,
    NOW,
    FakePublisher,
    InMemoryRequestLedger,
    configured_schedule,
    registration_body,
)

DEMO = Partner(partner_id="demo", channel="hub-api")
OTHER = Partner(partner_id="other", channel="hub-api")


def _registration(reference: str = "REG-0001", **changes: Any) -> RegistrationRequest:
    return RegistrationRequest.model_validate(registration_body(reference, **changes))


def _payment(
    reference: str = "PAY-0001", months: int = 3, amount: int = 50_400, nik: str = BALI_WOMAN_NIK
) -> PaymentRequest:
    return PaymentRequest(reference=reference, nik=nik, months=months, amount=amount, paid_at=NOW)


async def test_registration_is_accepted_once_the_broker_acknowledged_it(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    answer = await intake.submit_registration(DEMO, _registration())

    assert answer.reference == "REG-0001"
    assert answer.hub_reference.startswith("REG-")
    assert answer.status == "accepted"
    assert ledger.statuses() == ["accepted"]
    (published,) = publisher.published
    assert published.key == BALI_WOMAN_NIK
    event = published.envelope
    assert event.event_id == event_id_for("demo", "registration", "REG-0001")
    assert (event.partner_id, event.partner_ref, event.channel) == ("demo", "REG-0001", "hub-api")
    assert isinstance(event.payload, RegistrationSubmitted)
    assert event.payload.full_name == "NI MADE SARI"
    assert event.payload.phone == "+6281234567890"


async def test_retry_with_the_same_reference_and_body_gets_the_same_answer(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    first = await intake.submit_registration(DEMO, _registration())

    again = await intake.submit_registration(DEMO, _registration())

    assert again == first
    assert len(ledger.requests) == 1
    assert len(publisher.published) == 1


async def test_retry_that_only_spells_the_same_content_differently_is_not_a_conflict(
    intake: IntakeService,
) -> None:
    first = await intake.submit_registration(DEMO, _registration())

    again = await intake.submit_registration(
        DEMO, _registration(full_name="  ni made   SARI ", phone="+62 812 3456 7890")
    )

    assert again == first


async def test_five_concurrent_identical_submissions_get_one_answer_and_one_event_id(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    answers = await asyncio.gather(
        *(intake.submit_registration(DEMO, _registration()) for _ in range(5))
    )

    assert len(set(answers)) == 1
    assert len(ledger.requests) == 1
    assert ledger.statuses() == ["accepted"]
    assert publisher.published
    assert {p.envelope.event_id for p in publisher.published} == {
        event_id_for("demo", "registration", "REG-0001")
    }
    assert {p.value for p in publisher.published} == {publisher.published[0].value}


async def test_same_reference_with_a_different_body_is_a_conflict(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    await intake.submit_registration(DEMO, _registration())

    with pytest.raises(ReferenceConflict, match="REG-0001"):
        await intake.submit_registration(DEMO, _registration(occupation="nelayan"))

    assert len(publisher.published) == 1
    (held,) = ledger.requests.values()
    assert "pedagang" in held.event_json


async def test_two_partners_may_use_the_same_reference(
    intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    mine = await intake.submit_registration(DEMO, _registration())
    theirs = await intake.submit_registration(OTHER, _registration(occupation="nelayan"))

    assert mine.hub_reference != theirs.hub_reference
    assert len(ledger.requests) == 2


async def _held_while_the_broker_is_down(intake: IntakeService, publisher: FakePublisher) -> None:
    """The registration submitted while the broker is down: refused as retryable, its inbox
    row left pending (what ``test_broker_down_is_retryable...`` proves)."""
    await publisher.refusing(lambda: intake.submit_registration(DEMO, _registration()))


async def test_broker_down_is_retryable_and_leaves_the_request_pending(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    publisher.down = True

    with pytest.raises(BrokerUnavailable):
        await intake.submit_registration(DEMO, _registration())

    assert ledger.statuses() == ["pending"]
    assert publisher.published == []


async def test_retry_after_the_broker_recovers_succeeds_with_the_same_hub_reference(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    await _held_while_the_broker_is_down(intake, publisher)
    (held,) = ledger.requests.values()

    publisher.down = False
    answer = await intake.submit_registration(DEMO, _registration())

    assert answer == Acceptance(reference="REG-0001", hub_reference=held.hub_reference)
    assert ledger.statuses() == ["accepted"]
    (published,) = publisher.published
    assert published.value == held.event_json.encode()


async def test_registration_with_income_between_brackets_is_refused_before_claiming(
    intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    with pytest.raises(InvalidRequest, match=r"1\.000\.000 or 1\.500\.000"):
        await intake.submit_registration(DEMO, _registration(declared_income=1_200_000))

    assert ledger.requests == {}


async def test_payment_after_an_accepted_registration_is_accepted(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    await intake.submit_registration(DEMO, _registration())

    answer = await intake.submit_payment(DEMO, _payment())

    assert answer.hub_reference.startswith("PAY-")
    payment = publisher.published[-1].envelope
    assert payment.member_key == BALI_WOMAN_NIK
    assert isinstance(payment.payload, ContributionPaid)
    assert (payment.payload.months, payment.payload.amount) == (3, 50_400)


async def test_payment_of_the_wrong_amount_is_refused_and_nothing_is_published(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    await intake.submit_registration(DEMO, _registration())
    published_before = list(publisher.published)

    with pytest.raises(AmountMismatch) as refused:
        await intake.submit_payment(DEMO, _payment(amount=16_800))

    assert refused.value.amount_due == 50_400
    assert refused.value.problems[0].field == "amount"
    assert publisher.published == published_before
    assert len(ledger.requests) == 1


async def test_payment_for_a_member_nobody_registered_is_not_found(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    with pytest.raises(NotFound):
        await intake.submit_payment(DEMO, _payment())

    assert publisher.published == []


async def test_payment_for_a_registration_still_pending_is_not_found(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    await _held_while_the_broker_is_down(intake, publisher)
    publisher.down = False

    with pytest.raises(NotFound):
        await intake.submit_payment(DEMO, _payment())


async def test_inquiry_masks_the_name_and_tells_the_amount_due(intake: IntakeService) -> None:
    await intake.submit_registration(DEMO, _registration())

    answer = await intake.inquiry(InquiryRequest(nik=BALI_WOMAN_NIK, months=3))

    assert answer.masked_name == "N* M*** S***"
    assert answer.amount_due == 50_400
    assert answer.programmes == ("JKK", "JKM")
    assert (answer.covers_from, answer.covers_through) == (date(2026, 3, 1), date(2026, 5, 1))


async def test_inquiry_for_a_member_paid_ahead_covers_the_months_after(
    ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    ledger.members[JAKARTA_MAN_NIK] = MemberTerms(
        nik=JAKARTA_MAN_NIK,
        full_name="I WAYAN SUDIARTA",
        programmes=("JKK", "JKM", "JHT"),
        declared_income=1_000_000,
        paid_through=date(2026, 6, 1),
        kpj="00000000018",
    )
    intake = IntakeService(ledger, publisher, configured_schedule(), clock=lambda: NOW)

    answer = await intake.inquiry(InquiryRequest(nik=JAKARTA_MAN_NIK, months=1))

    assert answer.masked_name == "I W**** S*******"
    assert answer.amount_due == 36_800
    assert (answer.covers_from, answer.covers_through) == (date(2026, 7, 1), date(2026, 7, 1))


async def test_inquiry_for_an_unknown_member_is_not_found(intake: IntakeService) -> None:
    with pytest.raises(NotFound):
        await intake.inquiry(InquiryRequest(nik=JAKARTA_MAN_NIK, months=1))


async def test_status_of_an_accepted_registration_is_reported(intake: IntakeService) -> None:
    answer = await intake.submit_registration(DEMO, _registration())

    status = await intake.status(DEMO, "registration", "REG-0001")

    assert status.status == "accepted"
    assert status.hub_reference == answer.hub_reference


async def test_status_of_a_request_still_pending_is_in_doubt_try_again_not_unknown(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    # Its partner was told to try again, but the broker may have taken it: "not found"
    # would say nothing was taken. (Until this was found, this test asserted NotFound.)
    await _held_while_the_broker_is_down(intake, publisher)

    with pytest.raises(InDoubt) as in_doubt:
        await intake.status(DEMO, "registration", "REG-0001")
    assert in_doubt.value.retry_after_s == 1


async def test_a_partner_cannot_see_another_partners_request(intake: IntakeService) -> None:
    await intake.submit_registration(DEMO, _registration())

    with pytest.raises(NotFound):
        await intake.status(OTHER, "registration", "REG-0001")


async def test_status_of_an_unknown_reference_is_not_found(intake: IntakeService) -> None:
    with pytest.raises(NotFound):
        await intake.status(DEMO, "registration", "NOPE")


async def test_the_published_registration_is_the_normalised_request_in_its_envelope(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    """The event is built once from the validated request: normalised name and phone, the
    partner's reference in the header, no field of the request lost or added, and the
    fields in the order the contract's own writer gives them."""
    await intake.submit_registration(DEMO, _registration())

    (published,) = publisher.published
    event = json.loads(published.value)
    assert event["payload"] == {
        "event_type": "RegistrationSubmitted",
        "nik": BALI_WOMAN_NIK,
        "full_name": "NI MADE SARI",
        "birth_date": "1990-08-05",
        "sex": "F",
        "phone": "+6281234567890",
        "address": "Jl. Raya Ubud 1, Gianyar",
        "occupation": "pedagang",
        "declared_income": 1_000_000,
        "programmes": ["JKK", "JKM"],
        "outlet_id": None,
    }
    # In the contract's field order, as its own writer spells it: the form, then the type.
    assert " ".join(event["payload"]) == (
        "nik full_name birth_date sex phone address occupation declared_income programmes "
        "outlet_id event_type"
    )
    assert {k: v for k, v in event.items() if k != "payload"} == {
        "event_id": str(event_id_for("demo", "registration", "REG-0001")),
        "event_type": "RegistrationSubmitted",
        "schema_version": 1,
        "channel": "hub-api",
        "partner_id": "demo",
        "partner_ref": "REG-0001",
        "occurred_at": "2026-03-10T02:00:00Z",
        "received_at": "2026-03-10T02:00:00Z",
        "member_key": BALI_WOMAN_NIK,
    }


async def test_a_batch_counts_each_request_once_under_its_outcome(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    batch = Partner(partner_id="batch", channel="batch-counted")
    labels = {"channel": "batch-counted", "operation": "registration"}

    submission = intake.file_submission(batch)
    await submission.submit(
        [
            _registration("B-1"),
            _registration("B-2"),
            _registration("B-1", occupation="nelayan"),
            _registration("B-3", declared_income=1_200_000),
        ],
    )
    publisher.down = True
    await submission.submit([_registration("B-4"), _registration("B-5")])
    await submission.settle()

    def count(name: str, **extra: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels | extra)

    assert {
        outcome: count("hub_requests_total", outcome=outcome)
        for outcome in ("accepted", "conflict", "invalid", "unavailable", "refused")
    } == {"accepted": 2, "conflict": 1, "invalid": 1, "unavailable": 2, "refused": None}
    assert count("hub_unavailable_responses_total") == 2
    assert count("hub_request_duration_seconds_count") == 6


def _statuses(ledger: InMemoryRequestLedger, partner: Partner) -> dict[str, str]:
    return {
        reference: claimed.status
        for (partner_id, _, reference), claimed in ledger.requests.items()
        if partner_id == partner.partner_id
    }


async def test_a_files_rows_are_marked_accepted_two_batches_later_and_all_before_its_answer(
    intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    agent = Partner(partner_id="file-agent", channel="pos")
    submission = intake.file_submission(agent)

    await submission.submit([_registration("F-1"), _registration("F-2")])
    await submission.submit([_registration("F-3")])
    after_two = _statuses(ledger, agent)
    await submission.submit([_registration("F-4")])
    after_three = _statuses(ledger, agent)
    await submission.settle()

    assert after_two == dict.fromkeys(["F-1", "F-2", "F-3"], "pending")
    assert after_three == {"F-1": "accepted", "F-2": "accepted", "F-3": "pending", "F-4": "pending"}
    assert _statuses(ledger, agent) == dict.fromkeys(["F-1", "F-2", "F-3", "F-4"], "accepted")


async def test_a_reference_again_later_in_a_file_is_accepted_without_publishing_it_twice(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    agent = Partner(partner_id="file-twice", channel="pos")
    submission = intake.file_submission(agent)

    first = await submission.submit([_registration("T-1")])
    again = await submission.submit([_registration("T-1"), _registration("T-2")])
    await submission.settle()

    assert [type(a) for a in first + again] == [Acceptance] * 3
    assert first[0] == again[0]
    assert len(publisher.published) == 2
    assert _statuses(ledger, agent) == {"T-1": "accepted", "T-2": "accepted"}


async def test_rows_of_a_file_the_broker_refused_are_never_marked_accepted(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    agent = Partner(partner_id="file-refused", channel="pos")
    submission = intake.file_submission(agent)

    await submission.submit([_registration("R-1")])
    publisher.down = True
    refused = await submission.submit([_registration("R-2")])
    await submission.settle()

    assert [type(a) for a in refused] == [BrokerUnavailable]
    assert _statuses(ledger, agent) == {"R-1": "accepted", "R-2": "pending"}
