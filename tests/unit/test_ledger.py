"""Applying member events in Kafka order: registrations, payments and reversals."""

from datetime import UTC, date, datetime

import pytest

from hub.membership.apply import Batch, MemberRecord, apply_event
from hub.membership.schedule import ContributionSchedule
from schemas.events import ContributionPaid, EventEnvelope, PaymentReversed
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    JAKARTA_MAN_NIK,
    configured_rules,
    configured_schedule,
    envelope,
    registration_payload,
)

MARCH_10 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
RULES = configured_rules()


@pytest.fixture
def schedule() -> ContributionSchedule:
    return configured_schedule()


@pytest.fixture
def batch() -> Batch:
    return Batch(members={}, contributions={})


def _registration(nik: str = BALI_WOMAN_NIK, ref: str = "REG-1", **kw: object) -> EventEnvelope:
    return envelope(registration_payload(nik, **kw), partner_ref=ref, at=MARCH_10)


def _payment(
    ref: str,
    months: int = 1,
    amount: int | None = None,
    at: datetime = MARCH_10,
    nik: str = BALI_WOMAN_NIK,
) -> EventEnvelope:
    paid = ContributionPaid(
        nik=nik,
        months=months,
        amount=16_800 * months if amount is None else amount,
        paid_at=at,
    )
    return envelope(paid, partner_ref=ref, at=at)


def _reversal(
    original: str, ref: str = "REV-1", nik: str = BALI_WOMAN_NIK, partner_id: str = "demo"
) -> EventEnvelope:
    reversal = PaymentReversed(
        nik=nik, original_partner_ref=original, reason="cashier timeout", reversed_at=MARCH_10
    )
    return envelope(reversal, partner_ref=ref, at=MARCH_10, partner_id=partner_id)


def _registered_and_paid(batch: Batch, schedule: ContributionSchedule, *months: int) -> None:
    """The Bali woman registered (REG-1, March 2026), then paid PAY-1, PAY-2, ... for
    ``months`` months each, all on 10 March."""
    apply_event(batch, _registration(), schedule, RULES)
    for n, paid_months in enumerate(months, start=1):
        apply_event(batch, _payment(f"PAY-{n}", months=paid_months), schedule, RULES)


def _member(batch: Batch, nik: str = BALI_WOMAN_NIK) -> MemberRecord:
    return batch.members[nik]


def test_registration_creates_a_member_without_coverage(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    event = _registration()

    outcome = apply_event(batch, event, schedule, RULES)

    assert outcome.status == "recorded"
    member = _member(batch)
    assert outcome.member is member
    assert batch.new_members == [member]
    assert member.full_name == "NI MADE SARI"
    assert member.paid_through is None
    assert member.registered_month == date(2026, 3, 1)
    assert (member.registered_channel, member.registered_partner) == ("hub-api", "demo")
    assert member.registration_event_id == event.event_id
    assert batch.outcomes == [outcome]


def test_second_registration_of_the_same_nik_returns_the_first_member(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    first = apply_event(batch, _registration(ref="REG-1"), schedule, RULES)

    second = apply_event(
        batch,
        _registration(ref="REG-2", declared_income=20_700_000, full_name="X"),
        schedule,
        RULES,
    )

    assert second.status == "recorded"
    assert second.member is first.member
    assert len(batch.new_members) == 1
    assert _member(batch).declared_income == 1_000_000


def test_payment_for_an_unknown_nik_is_rejected(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    outcome = apply_event(batch, _payment("PAY-1"), schedule, RULES)

    assert outcome.status == "rejected"
    assert outcome.reason == "no registered member with this NIK"
    assert batch.new_contributions == []


def test_payment_of_the_wrong_amount_is_rejected_and_changes_nothing(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    apply_event(batch, _registration(), schedule, RULES)

    outcome = apply_event(batch, _payment("PAY-1", months=3, amount=16_800), schedule, RULES)

    assert outcome.status == "rejected"
    assert outcome.reason is not None
    assert "50400" in outcome.reason
    assert _member(batch).paid_through is None
    assert batch.new_contributions == []


def test_payment_extends_paid_through(batch: Batch, schedule: ContributionSchedule) -> None:
    apply_event(batch, _registration(), schedule, RULES)

    outcome = apply_event(batch, _payment("PAY-1", months=3), schedule, RULES)

    assert outcome.status == "recorded"
    assert _member(batch).paid_through == date(2026, 5, 1)
    (contribution,) = batch.new_contributions
    assert (contribution.covers_from, contribution.covers_through) == (
        date(2026, 3, 1),
        date(2026, 5, 1),
    )
    assert contribution.previous_paid_through is None


def test_consecutive_payments_add_up(batch: Batch, schedule: ContributionSchedule) -> None:
    _registered_and_paid(batch, schedule, 3)

    apply_event(batch, _payment("PAY-2", months=6, at=MARCH_10), schedule, RULES)

    assert _member(batch).paid_through == date(2026, 11, 1)
    assert batch.new_contributions[1].covers_from == date(2026, 6, 1)


def test_payment_priced_with_jht_when_the_member_chose_it(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    apply_event(batch, _registration(programmes=("JKK", "JKM", "JHT")), schedule, RULES)

    outcome = apply_event(batch, _payment("PAY-1", amount=36_800), schedule, RULES)

    assert outcome.status == "recorded"


def test_the_same_payment_delivered_twice_is_applied_once(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    apply_event(batch, _registration(), schedule, RULES)
    payment = _payment("PAY-1", months=3)
    apply_event(batch, payment, schedule, RULES)

    again = apply_event(batch, payment, schedule, RULES)

    assert again.status == "recorded"
    assert _member(batch).paid_through == date(2026, 5, 1)
    assert len(batch.new_contributions) == 1


def test_payment_month_is_counted_in_the_coverage_zone_not_the_niks_province(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    apply_event(batch, _registration(), schedule, RULES)
    # 23:30 WIB on 31 January: already 00:30 on 1 February in Bali, where this NIK is from,
    # but every member's months are counted in WIB (coverage_timezone).
    at = datetime(2026, 1, 31, 16, 30, tzinfo=UTC)

    apply_event(batch, _payment("PAY-1", at=at), schedule, RULES)

    assert _member(batch).paid_through == date(2026, 1, 1)


def test_reversal_restores_the_previous_paid_through(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    _registered_and_paid(batch, schedule, 1, 3)
    assert _member(batch).paid_through == date(2026, 6, 1)

    outcome = apply_event(batch, _reversal("PAY-2"), schedule, RULES)

    assert outcome.status == "recorded"
    assert _member(batch).paid_through == date(2026, 3, 1)
    contribution = batch.contributions[("demo", "PAY-2")]
    assert contribution.status == "reversed"
    assert contribution.reversed_at == MARCH_10


def test_reversal_of_the_only_payment_leaves_the_member_unpaid(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    _registered_and_paid(batch, schedule, 3)

    apply_event(batch, _reversal("PAY-1"), schedule, RULES)

    assert _member(batch).paid_through is None


def test_reversal_of_an_earlier_payment_takes_off_its_months(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    _registered_and_paid(batch, schedule, 1, 3)

    apply_event(batch, _reversal("PAY-1"), schedule, RULES)

    assert _member(batch).paid_through == date(2026, 5, 1)


def test_reversing_a_payment_twice_is_rejected(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    _registered_and_paid(batch, schedule, 3)
    apply_event(batch, _reversal("PAY-1", ref="REV-1"), schedule, RULES)

    outcome = apply_event(batch, _reversal("PAY-1", ref="REV-2"), schedule, RULES)

    assert outcome.status == "rejected"
    assert outcome.reason == "payment already reversed"
    assert _member(batch).paid_through is None


def test_reversing_an_unknown_reference_is_rejected(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    _registered_and_paid(batch, schedule, 1)

    outcome = apply_event(batch, _reversal("PAY-404"), schedule, RULES)

    assert outcome.status == "rejected"
    assert outcome.reason == "no payment with that reference to reverse"
    assert _member(batch).paid_through == date(2026, 3, 1)


def test_a_partner_cannot_reverse_another_partners_payment(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    _registered_and_paid(batch, schedule, 1)

    outcome = apply_event(batch, _reversal("PAY-1", partner_id="other"), schedule, RULES)

    assert outcome.status == "rejected"
    assert _member(batch).paid_through == date(2026, 3, 1)


def test_a_reversal_about_one_member_cannot_undo_another_members_payment(
    batch: Batch, schedule: ContributionSchedule
) -> None:
    apply_event(batch, _registration(BALI_WOMAN_NIK), schedule, RULES)
    apply_event(batch, _registration(JAKARTA_MAN_NIK, ref="REG-2"), schedule, RULES)
    apply_event(batch, _payment("PAY-1", nik=BALI_WOMAN_NIK), schedule, RULES)

    outcome = apply_event(batch, _reversal("PAY-1", nik=JAKARTA_MAN_NIK), schedule, RULES)

    assert outcome.status == "rejected"
    assert _member(batch, BALI_WOMAN_NIK).paid_through == date(2026, 3, 1)
