"""Properties of arrears and lapse as the ledger applies random payments and reversals.

A member pays what the counter quotes (arrears plus 1, 3, 6 or 12 months) at random
moments over three years, under either ``after_lapse`` policy. Whatever happens:
every month paid for is covered exactly once, coverage within a period has no holes,
and reversing a payment leaves the member exactly as if it had never been made.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.membership.apply import Batch, ContributionRecord, apply_event
from hub.membership.calendar import add_months, indonesian_calendar, months_between
from hub.membership.coverage import AfterLapse, CoverageRules, MembershipPolicy
from schemas.events import ContributionPaid, PaymentReversed
from tests.unit.fakes import JAKARTA_MAN_NIK, configured_schedule, envelope, registration_payload

SCHEDULE = configured_schedule()
MONTHLY = 16_800
REGISTERED_AT = datetime(2025, 1, 2, 3, 0, tzinfo=UTC)


def rules(after_lapse: AfterLapse) -> CoverageRules:
    return CoverageRules(indonesian_calendar("Asia/Jakarta"), MembershipPolicy(3, 3, after_lapse))


@dataclass(frozen=True)
class Pay:
    at: datetime
    months: int


class Member:
    def __init__(self, the_rules: CoverageRules) -> None:
        self.rules = the_rules
        self.batch = Batch(members={}, contributions={})
        registration = registration_payload(JAKARTA_MAN_NIK)
        apply_event(
            self.batch,
            envelope(registration, partner_ref="REG", at=REGISTERED_AT),
            SCHEDULE,
            the_rules,
        )

    def pay_quoted(self, ref: str, payment: Pay) -> int:
        """Pay what an inquiry at that moment quotes; return the amount."""
        member = self.batch.members[JAKARTA_MAN_NIK]
        plan = self.rules.quote(member.coverage, payment.at, payment.months)
        amount = plan.total_months * MONTHLY
        self.pay(ref, payment, amount)
        return amount

    def pay(self, ref: str, payment: Pay, amount: int) -> None:
        paid = ContributionPaid(
            nik=JAKARTA_MAN_NIK, months=payment.months, amount=amount, paid_at=payment.at
        )
        outcome = apply_event(
            self.batch, envelope(paid, partner_ref=ref, at=payment.at), SCHEDULE, self.rules
        )
        assert outcome.status == "recorded", outcome.reason

    def reverse(self, ref: str, at: datetime) -> None:
        reversal = PaymentReversed(
            nik=JAKARTA_MAN_NIK, original_partner_ref=ref, reason="timeout", reversed_at=at
        )
        outcome = apply_event(
            self.batch, envelope(reversal, partner_ref=f"REV-{ref}", at=at), SCHEDULE, self.rules
        )
        assert outcome.status == "recorded", outcome.reason

    def applied(self) -> list[ContributionRecord]:
        return [c for c in self.batch.history.get(JAKARTA_MAN_NIK, []) if c.status == "applied"]


gaps = st.integers(min_value=0, max_value=200 * 24 * 60)  # minutes between payments
payments = st.lists(
    st.tuples(gaps, st.sampled_from(SCHEDULE.allowed_months)), min_size=1, max_size=8
)
policies = st.sampled_from(["new_period", "continue"])


def schedule_of(raw: list[tuple[int, int]]) -> list[Pay]:
    at = REGISTERED_AT
    out = []
    for gap, months in raw:
        at = at + timedelta(minutes=gap)
        out.append(Pay(at, months))
    return out


def months_of(c: ContributionRecord) -> list[date]:
    return [
        add_months(c.covers_from, i)
        for i in range(months_between(c.covers_from, c.covers_through) + 1)
    ]


@settings(max_examples=300, deadline=None)
@given(payments, policies)
def test_every_month_paid_for_is_covered_once_and_a_period_has_no_holes(
    raw: list[tuple[int, int]], after_lapse: AfterLapse
) -> None:
    member = Member(rules(after_lapse))
    amounts = []
    for i, payment in enumerate(schedule_of(raw)):
        amounts.append(member.pay_quoted(f"PAY-{i}", payment))

    applied = member.applied()
    covered = [m for c in applied for m in months_of(c)]
    assert len(covered) == len(set(covered)), "a month was paid for twice"
    assert len(covered) * MONTHLY == sum(amounts), "money without a covered month"
    after_a_lapse = {
        c.envelope.partner_ref for c in member.batch.membership_changes if c.field == "membership"
    }
    for before, after in itertools.pairwise(applied):
        if after.partner_ref in after_a_lapse:
            assert after.covers_from > before.covers_through
        else:
            assert after.covers_from == add_months(before.covers_through, 1), "a hole in a period"


@settings(max_examples=300, deadline=None)
@given(payments, policies, st.data())
def test_a_reversal_replays_later_payments_exactly_as_if_it_had_never_been_made(
    raw: list[tuple[int, int]], after_lapse: AfterLapse, data: st.DataObject
) -> None:
    plan = schedule_of(raw)
    member = Member(rules(after_lapse))
    amounts = [member.pay_quoted(f"PAY-{i}", p) for i, p in enumerate(plan)]
    victim = data.draw(st.integers(0, len(plan) - 1), label="reversed payment")

    member.reverse(f"PAY-{victim}", plan[-1].at + timedelta(minutes=1))

    fresh = Member(rules(after_lapse))
    for i, (payment, amount) in enumerate(zip(plan, amounts, strict=True)):
        if i != victim:
            fresh.pay(f"PAY-{i}", payment, amount)
    got, want = member.batch.members[JAKARTA_MAN_NIK], fresh.batch.members[JAKARTA_MAN_NIK]
    assert (got.paid_through, got.period_start) == (want.paid_through, want.period_start)
    assert [
        (c.partner_ref, c.covers_from, c.covers_through, c.arrears_months, c.months)
        for c in member.applied()
    ] == [
        (c.partner_ref, c.covers_from, c.covers_through, c.arrears_months, c.months)
        for c in fresh.applied()
    ]
