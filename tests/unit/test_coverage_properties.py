"""Properties of coverage as the ledger applies random payments and reversals to a member.

Payments are for a random number of months the schedule allows, at random instants
over three years, for members in each of the three zones, priced by the schedule
from config/hub.toml. A reversal should leave the member as if the payment had
never been made.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hub.membership.coverage import add_months, is_active, local_month
from hub.membership.ledger import Batch, ContributionRecord, MemberRecord, Outcome, apply_event
from schemas.events import ContributionPaid, PaymentReversed
from schemas.nik import parse_nik
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    JAKARTA_MAN_NIK,
    configured_schedule,
    envelope,
    registration_payload,
)

PAPUA_NIK = "9171011203850002"
"""A man born 1985-03-12 in Papua (province 91, WIT)."""

SCHEDULE = configured_schedule()
WIB = timezone(timedelta(hours=7), "WIB")
WITA = timezone(timedelta(hours=8), "WITA")
WIT = timezone(timedelta(hours=9), "WIT")
REGISTERED_AT = datetime(2024, 12, 1, 3, 0, tzinfo=UTC)
JKK_JKM = ("JKK", "JKM")
WITH_JHT = ("JKK", "JKM", "JHT")


@dataclass(frozen=True, slots=True)
class Pay:
    """A payment for ``months`` months taken at ``at``."""

    at: datetime
    months: int


@dataclass(frozen=True, slots=True)
class Package:
    """What the member registered with, which prices every payment."""

    declared_income: int
    programmes: tuple[str, ...]


class Member:
    """One registered member on a fresh batch, paid for and reversed through ``apply_event``."""

    def __init__(self, nik: str, package: Package) -> None:
        self.nik = nik
        self.batch = Batch(members={}, contributions={})
        changes: dict[str, object] = {
            "declared_income": package.declared_income,
            "programmes": package.programmes,
        }
        if nik == PAPUA_NIK:
            changes.update(full_name="YOHANES WENDA", birth_date=date(1985, 3, 12), sex="M")
        registration = registration_payload(nik, **changes)
        apply_event(
            self.batch, envelope(registration, partner_ref="REG", at=REGISTERED_AT), SCHEDULE
        )
        self._payments = 0

    @property
    def record(self) -> MemberRecord:
        return self.batch.members[self.nik]

    @property
    def paid_through(self) -> date | None:
        return self.record.paid_through

    def pay(self, payment: Pay) -> str:
        """Apply ``payment`` at the right price; return its partner reference."""
        self._payments += 1
        ref = f"PAY-{self._payments}"
        amount = SCHEDULE.amount_due(
            self.record.declared_income, self.record.programmes, payment.months
        )
        paid = ContributionPaid(
            nik=self.nik, months=payment.months, amount=amount, paid_at=payment.at
        )
        outcome = apply_event(self.batch, envelope(paid, partner_ref=ref, at=payment.at), SCHEDULE)
        assert outcome.status == "recorded", outcome.reason
        return ref

    def reverse(self, payment_ref: str, reversal_ref: str, at: datetime) -> Outcome:
        reversal = PaymentReversed(
            nik=self.nik, original_partner_ref=payment_ref, reason="cashier timeout", reversed_at=at
        )
        return apply_event(
            self.batch, envelope(reversal, partner_ref=reversal_ref, at=at), SCHEDULE
        )

    def contribution(self, payment_ref: str) -> ContributionRecord:
        return self.batch.contributions[("demo", payment_ref)]


def paid_through_after(nik: str, package: Package, payments: list[Pay]) -> date | None:
    """Paid-through month of a member who made only ``payments``, in this order."""
    member = Member(nik, package)
    for payment in payments:
        member.pay(payment)
    return member.paid_through


def in_month_of(nik: str, payment: Pay, day: int, hour: int, minute: int, months: int) -> Pay:
    """A payment in the same month, in the member's own zone, as ``payment``."""
    zone = parse_nik(nik).region.tzinfo
    month = local_month(nik, payment.at)
    return Pay(datetime(month.year, month.month, day, hour, minute, tzinfo=zone), months)


niks = st.sampled_from([JAKARTA_MAN_NIK, BALI_WOMAN_NIK, PAPUA_NIK])
packages = st.builds(
    Package, st.sampled_from(SCHEDULE.income_brackets), st.sampled_from([JKK_JKM, WITH_JHT])
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([UTC, WIB, WITA, WIT]),
)
payments = st.builds(Pay, instants, st.sampled_from(SCHEDULE.allowed_months))
histories = st.lists(payments, max_size=8)
same_month = st.tuples(
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(SCHEDULE.allowed_months),
)

MINIMUM = Package(1_000_000, JKK_JKM)


@settings(deadline=None)
@given(niks, packages, st.lists(payments, min_size=1, max_size=15))
def test_paid_through_never_goes_backwards(nik: str, package: Package, made: list[Pay]) -> None:
    member = Member(nik, package)

    for payment in made:
        before = member.paid_through
        ref = member.pay(payment)
        after = member.paid_through

        assert after is not None
        if before is not None:
            assert after > before
        assert after >= local_month(nik, payment.at)
        contribution = member.contribution(ref)
        assert contribution.previous_paid_through == before
        assert contribution.covers_through == after
        assert contribution.covers_from == add_months(after, 1 - payment.months)


@settings(deadline=None)
@given(niks, packages, histories, payments)
def test_a_payment_reversed_at_once_leaves_the_member_as_before(
    nik: str, package: Package, history: list[Pay], payment: Pay
) -> None:
    member = Member(nik, package)
    for earlier in history:
        member.pay(earlier)
    before = member.paid_through
    ref = member.pay(payment)

    outcome = member.reverse(ref, "REV-1", payment.at)

    assert outcome.status == "recorded"
    assert member.paid_through == before
    assert member.contribution(ref).status == "reversed"


@settings(deadline=None)
@given(niks, packages, histories, payments, st.lists(same_month, min_size=1, max_size=5))
def test_a_reversal_after_other_payments_that_month_takes_back_exactly_its_months(
    nik: str,
    package: Package,
    history: list[Pay],
    payment: Pay,
    later: list[tuple[int, int, int, int]],
) -> None:
    between = [in_month_of(nik, payment, *when) for when in later]
    member = Member(nik, package)
    for earlier in history:
        member.pay(earlier)
    ref = member.pay(payment)
    for other in between:
        member.pay(other)
    before_reversal = member.paid_through
    assert before_reversal is not None

    member.reverse(ref, "REV-1", payment.at)

    assert member.paid_through == add_months(before_reversal, -payment.months)
    assert member.paid_through == paid_through_after(nik, package, history + between)


@settings(deadline=None)
@example(
    nik=PAPUA_NIK,
    package=MINIMUM,
    history=[],
    payment=Pay(datetime(2026, 1, 31, 21, 30, tzinfo=WIB), 1),
    later=[Pay(datetime(2026, 1, 31, 22, 30, tzinfo=WIB), 1)],
)
@given(niks, packages, histories, payments, st.lists(payments, min_size=1, max_size=5))
def test_a_reversal_leaves_the_member_as_if_the_payment_had_never_been_made(
    nik: str, package: Package, history: list[Pay], payment: Pay, later: list[Pay]
) -> None:
    member = Member(nik, package)
    for earlier in history:
        member.pay(earlier)
    ref = member.pay(payment)
    for other in later:
        member.pay(other)

    member.reverse(ref, "REV-1", payment.at)

    assert member.paid_through == paid_through_after(nik, package, history + later)


@settings(deadline=None)
@example(
    nik=JAKARTA_MAN_NIK,
    package=MINIMUM,
    history=[],
    first=Pay(datetime(2026, 3, 10, 10, 0, tzinfo=WIB), 3),
    later=[(10, 11, 0, 3)],
    to_reverse=[0, 1],
)
@given(
    niks,
    packages,
    histories,
    payments,
    st.lists(same_month, max_size=4),
    st.lists(st.integers(0, 4), min_size=2, max_size=5, unique=True),
)
def test_reversing_several_payments_of_one_month_leaves_only_the_others(
    nik: str,
    package: Package,
    history: list[Pay],
    first: Pay,
    later: list[tuple[int, int, int, int]],
    to_reverse: list[int],
) -> None:
    made = [first] + [in_month_of(nik, first, *when) for when in later]
    member = Member(nik, package)
    for earlier in history:
        member.pay(earlier)
    refs = [member.pay(payment) for payment in made]

    reversed_ = [i for i in to_reverse if i < len(made)]
    for n, i in enumerate(reversed_):
        assert member.reverse(refs[i], f"REV-{n}", first.at).status == "recorded"

    kept = [payment for i, payment in enumerate(made) if i not in reversed_]
    assert member.paid_through == paid_through_after(nik, package, history + kept)


@settings(deadline=None)
@given(niks, packages, histories, payments, histories, st.booleans())
def test_reversing_a_payment_twice_is_refused_and_changes_nothing(
    nik: str,
    package: Package,
    history: list[Pay],
    payment: Pay,
    later: list[Pay],
    same_reversal_redelivered: bool,
) -> None:
    member = Member(nik, package)
    for earlier in history:
        member.pay(earlier)
    ref = member.pay(payment)
    for other in later:
        member.pay(other)
    reversed_at = payment.at + timedelta(minutes=5)
    assert member.reverse(ref, "REV-1", reversed_at).status == "recorded"
    paid_through = member.paid_through
    contributions = dict(member.batch.contributions)
    snapshot = {key: (c.status, c.reversed_at) for key, c in contributions.items()}

    again = member.reverse(
        ref,
        "REV-1" if same_reversal_redelivered else "REV-2",
        reversed_at + (timedelta(0) if same_reversal_redelivered else timedelta(hours=1)),
    )

    assert again.status == "rejected"
    assert again.reason == "payment already reversed"
    assert member.paid_through == paid_through
    assert member.batch.contributions == contributions
    assert {key: (c.status, c.reversed_at) for key, c in contributions.items()} == snapshot
    assert len(member.batch.new_contributions) == len(history) + 1 + len(later)


def test_reversing_both_payments_of_a_day_does_not_leave_unpaid_months_covered() -> None:
    """A lapsed member pays twice in May and both are voided: they are still lapsed."""
    member = Member(JAKARTA_MAN_NIK, MINIMUM)
    member.pay(Pay(datetime(2026, 1, 10, 10, 0, tzinfo=WIB), 1))
    first = member.pay(Pay(datetime(2026, 5, 20, 10, 0, tzinfo=WIB), 1))
    second = member.pay(Pay(datetime(2026, 5, 20, 10, 5, tzinfo=WIB), 1))
    assert member.paid_through == date(2026, 6, 1)
    voided_at = datetime(2026, 5, 20, 10, 10, tzinfo=WIB)

    member.reverse(first, "REV-1", voided_at)
    member.reverse(second, "REV-2", voided_at)

    # Only the January payment stands; February to May were never paid.
    assert member.paid_through == date(2026, 1, 1)
    assert not is_active(member.paid_through, member.record.registered_month, date(2026, 5, 20))


def test_reversing_a_payment_keeps_a_later_payment_made_after_midnight_in_the_members_zone() -> (
    None
):
    member = Member(PAPUA_NIK, MINIMUM)
    january = member.pay(Pay(datetime(2026, 1, 31, 21, 30, tzinfo=WIB), 1))  # 23:30 WIT
    member.pay(Pay(datetime(2026, 1, 31, 22, 30, tzinfo=WIB), 1))  # 00:30 WIT, 1 February
    assert member.paid_through == date(2026, 2, 1)

    member.reverse(january, "REV-1", datetime(2026, 1, 31, 23, 0, tzinfo=WIB))

    assert member.paid_through == date(2026, 2, 1)
