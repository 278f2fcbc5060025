"""Intake's membership rules: payment codes, already paid, retried payments, reversals."""

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from hub.errors import (
    AlreadyPaid,
    AlreadyReversed,
    AmountMismatch,
    BrokerUnavailable,
    InDoubt,
    NotFound,
    NotReversible,
    ReferenceConflict,
)
from hub.intake.model import Acceptance, Partner
from hub.intake.requests import InquiryRequest, PaymentRequest, ReversalRequest
from hub.intake.service import IntakeService
from hub.membership.calendar import indonesian_calendar
from hub.membership.coverage import AfterLapse, CoverageRules, MembershipPolicy
from hub.membership.kpj import kpj_for
from hub.membership.payment_code import PaymentCodes
from schemas.events import PaymentReversed
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    JAKARTA_MAN_NIK,
    NOW,
    SARI,
    FakePublisher,
    InMemoryRequestLedger,
    configured_schedule,
)

DEMO = Partner("demo", "hub-api")
CODE = PaymentCodes("8866").for_kpj(SARI.kpj or "")


def _intake(
    ledger: InMemoryRequestLedger, publisher: FakePublisher, now: datetime = NOW
) -> IntakeService:
    return IntakeService(
        ledger, publisher, configured_schedule(), PaymentCodes("8866"), clock=lambda: now
    )


def _payment(reference: str = "PAY-1", months: int = 1, amount: int = 16_800) -> PaymentRequest:
    return PaymentRequest(
        reference=reference, payment_code=CODE, months=months, amount=amount, paid_at=NOW
    )


@pytest.fixture
def ledger() -> InMemoryRequestLedger:
    return InMemoryRequestLedger({BALI_WOMAN_NIK: SARI})


@pytest.fixture
def intake(ledger: InMemoryRequestLedger, publisher: FakePublisher) -> IntakeService:
    """Intake over ``ledger`` and ``publisher`` at ``NOW`` (10 March 2026)."""
    return _intake(ledger, publisher)


async def test_inquiry_by_payment_code_finds_the_member_and_the_months_from_march(
    intake: IntakeService,
) -> None:
    answer = await intake.inquiry(InquiryRequest(payment_code=CODE, months=3))

    assert answer.nik == BALI_WOMAN_NIK
    assert answer.masked_name == "N* M*** S***"
    assert (answer.covers_from, answer.covers_through) == (date(2026, 3, 1), date(2026, 5, 1))
    assert (answer.monthly_amount, answer.amount_due) == (16_800, 50_400)
    assert answer.payment_code == CODE
    assert answer.member_status == "active"


@pytest.mark.parametrize(
    "code",
    [
        "8866" + kpj_for(1)[:-1] + str((int(kpj_for(1)[-1]) + 1) % 10),  # bad check digit
        "9999" + kpj_for(1),  # another biller's prefix
        "8866" + kpj_for(8),  # a valid code of nobody
    ],
)
async def test_inquiry_by_a_code_that_is_not_a_members_is_not_found(
    intake: IntakeService, code: str
) -> None:
    with pytest.raises(NotFound):
        await intake.inquiry(InquiryRequest(payment_code=code, months=1))


def test_a_request_must_name_the_member_one_way_only() -> None:
    with pytest.raises(ValueError, match="either nik or payment_code"):
        InquiryRequest(months=1)
    with pytest.raises(ValueError, match="either nik or payment_code"):
        InquiryRequest(nik=BALI_WOMAN_NIK, payment_code=CODE, months=1)


async def test_paying_beyond_twelve_months_ahead_is_already_paid(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    ledger.members[BALI_WOMAN_NIK] = replace(SARI, paid_through=date(2026, 12, 1))

    await intake.inquiry(InquiryRequest(nik=BALI_WOMAN_NIK, months=3))  # through 2027-03: ok
    with pytest.raises(AlreadyPaid, match="2027-03"):
        await intake.inquiry(InquiryRequest(nik=BALI_WOMAN_NIK, months=6))
    assert publisher.published == []


async def test_a_retried_payment_is_answered_as_before_even_after_the_price_changed(
    intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    first = await intake.submit_payment(DEMO, _payment())
    # The member moved to a higher bracket since: repricing would refuse the retry.
    ledger.members[BALI_WOMAN_NIK] = replace(SARI, declared_income=5_000_000)

    again = await intake.submit_payment(DEMO, _payment())

    assert again == first
    assert len(publisher.published) == 1


async def test_a_reference_reused_for_another_payment_is_a_conflict_not_a_reprice(
    intake: IntakeService,
) -> None:
    await intake.submit_payment(DEMO, _payment())

    with pytest.raises(ReferenceConflict):
        await intake.submit_payment(DEMO, _payment(months=3, amount=50_400))


async def test_wrong_amount_by_payment_code_is_refused_before_anything_is_published(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    with pytest.raises(AmountMismatch) as refused:
        await intake.submit_payment(DEMO, _payment(months=6, amount=16_800))

    assert refused.value.amount_due == 100_800
    assert publisher.published == []


async def test_reversal_names_the_payment_and_publishes_it_on_the_members_key(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    await intake.submit_payment(DEMO, _payment())

    answer = await intake.submit_reversal(
        DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1", reason="timeout")
    )

    assert answer.reference == "REV-1"
    assert answer.hub_reference.startswith("REV-")
    reversal = publisher.published[-1]
    assert reversal.key == BALI_WOMAN_NIK
    assert isinstance(reversal.envelope.payload, PaymentReversed)
    assert reversal.envelope.payload.original_partner_ref == "PAY-1"
    assert reversal.envelope.partner_ref == "REV-1"


async def test_a_partner_is_told_its_payment_and_reversal_as_typed_views_of_the_stored_event(
    intake: IntakeService,
) -> None:
    await intake.submit_payment(DEMO, _payment("PAY-3", months=3, amount=50_400))
    await intake.submit_reversal(
        DEMO, ReversalRequest(reference="REV-3", payment_reference="PAY-3")
    )

    payment = await intake.status(DEMO, "payment", "PAY-3")
    reversal = await intake.reversal_of(DEMO, "PAY-3")

    assert (payment.kind, payment.partner_ref, payment.amount, payment.months) == (
        "payment",
        "PAY-3",
        50_400,
        3,
    )
    assert payment.hub_reference.startswith("PAY-")
    assert reversal is not None
    assert (reversal.kind, reversal.reference, reversal.partner_ref) == (
        "reversal",
        "PAY-3",
        "REV-3",
    )
    assert (reversal.amount, reversal.months) == (None, None)
    assert not hasattr(payment, "event_json")


REVERSAL = ReversalRequest(reference="REV-1", payment_reference="PAY-1")


async def _paid_then_reversed(intake: IntakeService) -> Acceptance:
    """PAY-1 (one month) paid, then reversed by ``REVERSAL``: the reversal's answer."""
    await intake.submit_payment(DEMO, _payment())
    return await intake.submit_reversal(DEMO, REVERSAL)


async def test_a_retried_reversal_is_answered_as_before_and_another_is_already_reversed(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    first = await _paid_then_reversed(intake)

    assert await intake.submit_reversal(DEMO, REVERSAL) == first
    with pytest.raises(AlreadyReversed):
        await intake.submit_reversal(DEMO, REVERSAL.model_copy(update={"reference": "REV-2"}))
    assert len(publisher.published) == 2


async def test_a_reversal_reference_reused_for_another_payment_is_a_conflict_and_voids_nothing(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    await intake.submit_payment(DEMO, _payment("PAY-1"))
    await intake.submit_payment(DEMO, _payment("PAY-2"))
    first = await intake.submit_reversal(
        DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1")
    )

    with pytest.raises(ReferenceConflict) as refused:
        await intake.submit_reversal(
            DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-2")
        )

    assert not isinstance(refused.value, AlreadyReversed)
    assert await intake.reversal_of(DEMO, "PAY-2") is None
    assert len(publisher.published) == 3
    retried = ReversalRequest(reference="REV-1", payment_reference="PAY-1")
    assert await intake.submit_reversal(DEMO, retried) == first


async def test_a_retried_reversal_is_answered_as_before_even_after_the_day_is_settled(
    intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    first = await _paid_then_reversed(intake)

    ledger.close_day_of("demo", "PAY-1")
    assert await intake.submit_reversal(DEMO, REVERSAL) == first


async def test_reversal_of_a_payment_never_received_is_not_found(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    with pytest.raises(NotFound, match="NEVER"):
        await intake.submit_reversal(
            DEMO, ReversalRequest(reference="REV-1", payment_reference="NEVER")
        )
    assert publisher.published == []


async def _paid_while_the_broker_is_down(intake: IntakeService, publisher: FakePublisher) -> None:
    """PAY-1 sent while the broker is down: its partner is told to try again (the broker
    stays down)."""
    await publisher.refusing(lambda: intake.submit_payment(DEMO, _payment()))


async def test_a_payment_answered_try_again_is_published_again_then_reversed_after_it(
    intake: IntakeService, publisher: FakePublisher, ledger: InMemoryRequestLedger
) -> None:
    # The broker did not acknowledge the payment: its partner was told to try again, but
    # the broker may have taken it. Its reversal must not say "no such payment".
    await _paid_while_the_broker_is_down(intake, publisher)
    assert ledger.statuses() == ["pending"]
    publisher.down = False

    answer = await intake.submit_reversal(
        DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1", reason="timeout")
    )

    assert answer.reference == "REV-1"
    payment, reversal = publisher.published
    assert payment.envelope.partner_ref == "PAY-1"
    assert payment.envelope.event_type == "ContributionPaid"
    assert reversal.envelope.partner_ref == "REV-1"
    assert reversal.envelope.event_type == "PaymentReversed"
    assert payment.key == reversal.key == BALI_WOMAN_NIK
    assert ledger.statuses() == ["accepted", "accepted"]


async def test_a_reversal_of_an_unacknowledged_payment_while_the_broker_is_away_is_try_again(
    intake: IntakeService, publisher: FakePublisher, ledger: InMemoryRequestLedger
) -> None:
    await _paid_while_the_broker_is_down(intake, publisher)

    with pytest.raises(BrokerUnavailable):
        await intake.submit_reversal(
            DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1")
        )

    assert publisher.published == []
    assert ledger.statuses() == ["pending"]
    assert ledger.reversal_references == {}


async def test_a_payment_arriving_after_its_reversal_is_refused_as_reversed_never_published(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    # The partner gave up on the payment (its timeout) and reversed it before the payment
    # itself reached the hub: "not found" closes the transaction, cash handed back.
    with pytest.raises(NotFound):
        await intake.submit_reversal(
            DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1")
        )

    with pytest.raises(AlreadyReversed):
        await intake.submit_payment(DEMO, _payment())
    with pytest.raises(AlreadyReversed):  # and so is every retry of it
        await intake.submit_payment(DEMO, _payment())
    assert publisher.published == []


async def test_a_repeated_reversal_of_a_payment_refused_as_reversed_takes_it_back_in_full(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    # The repeat cannot tell a refused payment from one published just before a failure,
    # so it publishes it again and takes it back: applied and reversed, never standing.
    reversal = ReversalRequest(reference="REV-1", payment_reference="PAY-1")
    with pytest.raises(NotFound):
        await intake.submit_reversal(DEMO, reversal)
    with pytest.raises(AlreadyReversed):
        await intake.submit_payment(DEMO, _payment())

    answer = await intake.submit_reversal(DEMO, reversal)

    assert answer.reference == "REV-1"
    assert [p.envelope.event_type for p in publisher.published] == [
        "ContributionPaid",
        "PaymentReversed",
    ]


async def test_a_payment_retried_while_its_reversal_is_in_doubt_is_refused_as_reversed(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    # The reversal was told "try again" (the broker may still have taken it); then the
    # payment comes again (an advice). "Paid" would have the cash collected while the
    # reversal may yet be applied: the reversal is made definite and the payment refused.
    await intake.submit_payment(DEMO, _payment())
    reversal = ReversalRequest(reference="REV-1", payment_reference="PAY-1")
    await publisher.refusing(lambda: intake.submit_reversal(DEMO, reversal))
    with pytest.raises(InDoubt):  # what a status read of the payment says of its reversal
        await intake.reversal_of(DEMO, "PAY-1")
    publisher.down = False

    with pytest.raises(AlreadyReversed):
        await intake.submit_payment(DEMO, _payment())

    assert [p.envelope.event_type for p in publisher.published] == [
        "ContributionPaid",
        "PaymentReversed",
    ]
    taken_back = await intake.reversal_of(DEMO, "PAY-1")
    assert taken_back is not None and taken_back.partner_ref == "REV-1"


async def test_reversal_of_another_partners_payment_is_not_found(intake: IntakeService) -> None:
    await intake.submit_payment(DEMO, _payment())

    with pytest.raises(NotFound):
        await intake.submit_reversal(
            Partner("other", "hub-api"), ReversalRequest(reference="R", payment_reference="PAY-1")
        )


async def test_reversal_of_a_payment_whose_business_day_is_closed_is_not_reversible(
    intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    await intake.submit_payment(DEMO, _payment())
    await intake.submit_payment(DEMO, _payment("PAY-2"))
    ledger.closed.add(("demo", date(2026, 3, 10)))

    with pytest.raises(NotReversible, match="settled"):
        await intake.submit_reversal(
            DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1")
        )


async def test_a_day_that_has_passed_but_is_not_closed_still_takes_reversals(
    ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    await _intake(ledger, publisher).submit_payment(DEMO, _payment())
    next_day = _intake(ledger, publisher, datetime(2026, 3, 11, 3, 0, tzinfo=UTC))

    await next_day.submit_reversal(
        DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1")
    )
    reversal = ledger.requests[("demo", "reversal", "PAY-1")]
    assert reversal.business_date == date(2026, 3, 11)


async def test_a_payment_is_dated_by_its_partners_zone_and_cutoff(
    ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    # 22:59 and 23:00 WITA on 10 March; the Bali partner's cut-off is 23:00.
    bali = Partner("demo", "hub-api", timezone="Asia/Makassar", settlement_cutoff=time(23, 0))
    before = _intake(ledger, publisher, datetime(2026, 3, 10, 14, 59, tzinfo=UTC))
    at_cutoff = _intake(ledger, publisher, datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    await before.submit_payment(bali, _payment("PAY-1"))
    await at_cutoff.submit_payment(bali, _payment("PAY-2"))

    assert ledger.requests[("demo", "payment", "PAY-1")].business_date == date(2026, 3, 10)
    assert ledger.requests[("demo", "payment", "PAY-2")].business_date == date(2026, 3, 11)


async def test_re_zoning_a_partner_does_not_re_date_its_payments(
    ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    # 16:30 UTC on 10 March is 00:30 on the 11th in WITA, but 23:30 on the 10th in WIB.
    late_evening = _intake(ledger, publisher, datetime(2026, 3, 10, 16, 30, tzinfo=UTC))
    await late_evening.submit_payment(Partner("demo", "hub-api", "Asia/Makassar"), _payment())
    rezoned = Partner("demo", "hub-api", "Asia/Jakarta")
    ledger.closed.add(("demo", date(2026, 3, 11)))

    assert ledger.requests[("demo", "payment", "PAY-1")].business_date == date(2026, 3, 11)
    with pytest.raises(NotReversible, match="2026-03-11"):
        await _intake(ledger, publisher).submit_reversal(
            rezoned, ReversalRequest(reference="REV-1", payment_reference="PAY-1")
        )


async def test_a_payment_on_a_closed_day_goes_to_the_next_open_day_flagged_after_close(
    intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    ledger.closed.update({("demo", date(2026, 3, 10)), ("demo", date(2026, 3, 11))})
    await intake.submit_payment(DEMO, _payment())

    held = ledger.requests[("demo", "payment", "PAY-1")]
    assert (held.business_date, held.after_close) == (date(2026, 3, 12), True)


async def test_a_payment_retried_after_its_reversal_is_already_reversed_not_a_success(
    intake: IntakeService, publisher: FakePublisher
) -> None:
    await _paid_then_reversed(intake)

    with pytest.raises(AlreadyReversed):
        await intake.submit_payment(DEMO, _payment())
    assert len(publisher.published) == 2


WAYAN = replace(
    SARI, nik=JAKARTA_MAN_NIK, full_name="I WAYAN SUDIARTA", paid_through=date(2026, 1, 1)
)
"""Paid through January 2026; the clock says 10 March 2026."""


async def test_inquiry_paid_through_january_on_10_march_quotes_february_and_march(
    publisher: FakePublisher,
) -> None:
    intake = _intake(InMemoryRequestLedger({JAKARTA_MAN_NIK: WAYAN}), publisher)

    answer = await intake.inquiry(InquiryRequest(nik=JAKARTA_MAN_NIK, months=1))

    assert (answer.arrears_months, answer.arrears_from, answer.arrears_through) == (
        1,
        date(2026, 2, 1),
        date(2026, 2, 1),
    )
    assert (answer.months, answer.months_from, answer.covers_through) == (
        1,
        date(2026, 3, 1),
        date(2026, 3, 1),
    )
    assert (answer.arrears_amount, answer.amount_due) == (16_800, 33_600)


async def test_a_payment_of_only_the_month_asked_for_is_refused_naming_the_arrears_total(
    publisher: FakePublisher,
) -> None:
    intake = _intake(InMemoryRequestLedger({JAKARTA_MAN_NIK: WAYAN}), publisher)
    pay = PaymentRequest(reference="P-1", nik=JAKARTA_MAN_NIK, months=1, amount=16_800, paid_at=NOW)

    with pytest.raises(AmountMismatch) as refused:
        await intake.submit_payment(DEMO, pay)

    assert refused.value.amount_due == 33_600
    assert publisher.published == []
    paid = pay.model_copy(update={"reference": "P-2", "amount": 33_600})
    accepted = await intake.submit_payment(DEMO, paid)
    assert accepted.status == "accepted"


@pytest.mark.parametrize(
    ("after_lapse", "amount_due", "covers_from"),
    [
        # Paid through October 2025: November to February unpaid, lapsed on 17 February
        # (February's 15th is a Sunday, so it was due on Monday the 16th).
        ("new_period", 16_800, date(2026, 3, 1)),  # a new period from March
        ("continue", 67_200, date(2025, 12, 1)),  # December to February, then March
    ],
)
async def test_a_lapsed_member_is_quoted_by_the_after_lapse_policy(
    publisher: FakePublisher, after_lapse: AfterLapse, amount_due: int, covers_from: date
) -> None:
    lapsed = replace(WAYAN, paid_through=date(2025, 10, 1))
    intake = IntakeService(
        InMemoryRequestLedger({JAKARTA_MAN_NIK: lapsed}),
        publisher,
        configured_schedule(),
        PaymentCodes("8866"),
        clock=lambda: NOW,
        rules=CoverageRules(
            indonesian_calendar("Asia/Jakarta"), MembershipPolicy(3, 3, after_lapse)
        ),
    )

    answer = await intake.inquiry(InquiryRequest(nik=JAKARTA_MAN_NIK, months=1))

    assert (answer.amount_due, answer.covers_from, answer.covers_through) == (
        amount_due,
        covers_from,
        date(2026, 3, 1),
    )
    assert answer.member_status == "inactive"
