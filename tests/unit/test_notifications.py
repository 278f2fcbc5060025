"""Which callback a partner gets for each outcome: registrations, payments and reversals."""

from hub.callbacks.notifications import notice_for, notification_id_for
from hub.intake.model import Partner
from hub.intake.requests import PaymentRequest, ReversalRequest
from hub.intake.service import IntakeService
from hub.membership.apply import Outcome
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    NOW,
    FakePublisher,
    InMemoryRequestLedger,
    configured_schedule,
    envelope,
    registration_payload,
)
from tests.unit.test_intake_rules import SARI

DEMO = Partner("demo", "hub-api")


async def _paid_and_reversed() -> tuple[str, str, FakePublisher]:
    """Pay, then reverse, through intake: the hub references the partner was answered."""
    publisher = FakePublisher()
    intake = IntakeService(
        InMemoryRequestLedger({BALI_WOMAN_NIK: SARI}),
        publisher,
        configured_schedule(),
        clock=lambda: NOW,
    )
    paid = await intake.submit_payment(
        DEMO,
        PaymentRequest(reference="PAY-1", nik=BALI_WOMAN_NIK, months=3, amount=50_400, paid_at=NOW),
    )
    reversed_ = await intake.submit_reversal(
        DEMO, ReversalRequest(reference="REV-1", payment_reference="PAY-1", reason="void")
    )
    return paid.hub_reference, reversed_.hub_reference, publisher


async def test_a_recorded_payment_is_announced_with_the_hub_reference_the_partner_was_given() -> (
    None
):
    payment_hub_ref, _, publisher = await _paid_and_reversed()
    paid = publisher.published[0].envelope

    notice = notice_for(Outcome(paid, "recorded"), NOW)

    assert notice is not None
    assert (notice.kind, notice.reference, notice.event) == ("payment", "PAY-1", "payment.recorded")
    assert notice.body == {
        "notification_id": str(notification_id_for(paid.event_id)),
        "event": "payment.recorded",
        "reference": "PAY-1",
        "hub_reference": payment_hub_ref,
        "status": "recorded",
        "months": 3,
        "amount": 50_400,
        "reason": None,
        "occurred_at": NOW.isoformat(),
    }


async def test_a_rejected_payment_is_announced_with_the_reason() -> None:
    _, _, publisher = await _paid_and_reversed()
    paid = publisher.published[0].envelope

    notice = notice_for(Outcome(paid, "rejected", reason="member unknown"), NOW)

    assert notice is not None
    assert notice.event == "payment.rejected"
    assert (notice.body["status"], notice.body["reason"]) == ("rejected", "member unknown")


async def test_a_recorded_reversal_is_announced_under_the_payment_it_took_back() -> None:
    payment_hub_ref, reversal_hub_ref, publisher = await _paid_and_reversed()
    reversal = publisher.published[1].envelope

    notice = notice_for(Outcome(reversal, "recorded"), NOW)

    assert notice is not None
    assert (notice.kind, notice.reference, notice.event) == ("payment", "PAY-1", "payment.reversed")
    assert notice.body["hub_reference"] == payment_hub_ref
    assert notice.body["reversal_reference"] == "REV-1"
    assert notice.body["reversal_hub_reference"] == reversal_hub_ref
    assert (notice.body["status"], notice.body["reason"]) == ("reversed", "void")
    assert notice.notification_id != notification_id_for(publisher.published[0].envelope.event_id)


async def test_a_reversal_the_store_refused_sends_nothing_the_payment_stands() -> None:
    _, _, publisher = await _paid_and_reversed()
    reversal = publisher.published[1].envelope

    assert notice_for(Outcome(reversal, "rejected", reason="no such payment"), NOW) is None


def test_registrations_keep_their_events() -> None:
    registered = envelope(registration_payload(), partner_ref="REG-1")

    notice = notice_for(Outcome(registered, "rejected", reason="NIK disagrees"), NOW)

    assert notice is not None
    assert (notice.kind, notice.reference, notice.event) == (
        "registration",
        "REG-1",
        "registration.rejected",
    )
    assert notice.body["kpj"] is None
