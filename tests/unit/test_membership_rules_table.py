"""Arrears, lapse and the coverage calendar, as tables of worked examples.

Every expected figure is worked by hand from the rules in docs/membership.md (JKK +
JKM at the minimum income: Rp16,800 a month), never computed by the code under test.
Due dates use Indonesia's public holidays from the ``holidays`` library.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.membership.apply import Batch, MemberRecord, apply_event
from hub.membership.calendar import indonesian_calendar
from hub.membership.coverage import AfterLapse, Coverage, CoverageRules, MembershipPolicy
from schemas.events import ContributionPaid
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    JAKARTA_MAN_NIK,
    configured_schedule,
    envelope,
    registration_payload,
)

WIB = ZoneInfo("Asia/Jakarta")
PAPUA_NIK = "9171011203850002"
"""A man born 1985-03-12 whose NIK was issued in Papua (province 91, WIT)."""
MONTHLY = 16_800
SCHEDULE = configured_schedule()


def rules(
    after_lapse: AfterLapse = "new_period", cuti_bersama: tuple[date, ...] = ()
) -> CoverageRules:
    return CoverageRules(
        indonesian_calendar("Asia/Jakarta", cuti_bersama),
        MembershipPolicy(max_arrears_months=3, lapse_after_months=3, after_lapse=after_lapse),
    )


def wib(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def month(y: int, m: int) -> date:
    return date(y, m, 1)


@dataclass(frozen=True)
class Quote:
    paid_through: date
    at: datetime
    after_lapse: AfterLapse
    arrears: int
    covers_from: date
    covers_through: date
    amount: int
    new_period: bool
    why: str


ARREARS = [
    Quote(
        month(2026, 5),
        wib(2026, 6, 10),
        "new_period",
        0,
        month(2026, 6),
        month(2026, 6),
        16_800,
        False,
        "0 behind: June only",
    ),
    Quote(
        month(2026, 4),
        wib(2026, 6, 10),
        "new_period",
        1,
        month(2026, 5),
        month(2026, 6),
        33_600,
        False,
        "1 behind: May, then June",
    ),
    Quote(
        month(2026, 3),
        wib(2026, 6, 10),
        "new_period",
        2,
        month(2026, 4),
        month(2026, 6),
        50_400,
        False,
        "2 behind: April and May, then June",
    ),
    Quote(
        month(2026, 2),
        wib(2026, 6, 10),
        "new_period",
        3,
        month(2026, 3),
        month(2026, 6),
        67_200,
        False,
        "3 behind: March to May, then June (lapses only after 15 June)",
    ),
    Quote(
        month(2026, 1),
        wib(2026, 6, 10),
        "new_period",
        0,
        month(2026, 6),
        month(2026, 6),
        16_800,
        True,
        "4 behind: lapsed on 16 May; a new period from June",
    ),
    Quote(
        month(2026, 1),
        wib(2026, 6, 10),
        "continue",
        3,
        month(2026, 3),
        month(2026, 6),
        67_200,
        False,
        "4 behind, continue: the 3 latest months (March to May), then June",
    ),
    Quote(
        month(2026, 1),
        wib(2026, 3, 10),
        "new_period",
        1,
        month(2026, 2),
        month(2026, 3),
        33_600,
        False,
        "the issue's case: paid through January, paying on 10 March",
    ),
    Quote(
        month(2026, 6),
        wib(2026, 3, 10),
        "new_period",
        0,
        month(2026, 7),
        month(2026, 7),
        16_800,
        False,
        "paid ahead: adds after June",
    ),
    Quote(
        month(2025, 12),
        wib(2026, 1, 5),
        "new_period",
        0,
        month(2026, 1),
        month(2026, 1),
        16_800,
        False,
        "year edge: December paid, January asked",
    ),
]


@pytest.mark.parametrize("case", ARREARS, ids=[c.why for c in ARREARS])
def test_inquiry_quotes_arrears_oldest_first_then_the_month_asked_for(case: Quote) -> None:
    plan = rules(case.after_lapse).quote(Coverage(case.paid_through, month(2025, 6)), case.at, 1)

    assert plan.arrears_months == case.arrears
    assert (plan.covers_from, plan.covers_through) == (case.covers_from, case.covers_through)
    assert plan.total_months * MONTHLY == case.amount
    assert plan.new_period is case.new_period
    assert plan.months == 1


def test_paid_through_january_paying_on_10_march_is_quoted_february_and_march() -> None:
    plan = rules().quote(Coverage(month(2026, 1), month(2025, 6)), wib(2026, 3, 10), 1)

    assert (plan.arrears_from, plan.arrears_through) == (month(2026, 2), month(2026, 2))
    assert (plan.months_from, plan.covers_through) == (month(2026, 3), month(2026, 3))
    assert plan.total_months * MONTHLY == 33_600


def test_a_payment_smaller_than_the_arrears_settles_the_oldest_months_only() -> None:
    # Paid through February, paying on 10 June for 2 months' money: March and April.
    plan = rules().plan(Coverage(month(2026, 2), month(2025, 6)), wib(2026, 6, 10), 2)

    assert (plan.arrears_months, plan.months) == (2, 0)
    assert (plan.covers_from, plan.covers_through) == (month(2026, 3), month(2026, 4))


@pytest.mark.parametrize(
    ("due_month", "cuti_bersama", "due", "why"),
    [
        (month(2026, 6), (), date(2026, 6, 15), "Monday 15 June 2026: a working day"),
        (month(2026, 3), (), date(2026, 3, 16), "Sunday 15 March 2026: Monday"),
        (month(2026, 8), (), date(2026, 8, 18), "Sat 15, Sun 16, Mon 17 Aug (Independence Day)"),
        (month(2029, 3), (), date(2029, 3, 16), "Thursday 15 March 2029 is Nyepi: Friday"),
        (month(2033, 4), (), date(2033, 4, 18), "Friday 15 April 2033 is Good Friday: Monday"),
        (month(2026, 5), (date(2026, 5, 15),), date(2026, 5, 18), "15 May 2026 as cuti bersama"),
        (month(2026, 5), (), date(2026, 5, 15), "the same without the cuti bersama"),
    ],
)
def test_due_date_is_the_15th_or_the_next_working_day(
    due_month: date, cuti_bersama: tuple[date, ...], due: date, why: str
) -> None:
    assert rules(cuti_bersama=cuti_bersama).calendar.due_date(due_month) == due, why


@pytest.mark.parametrize(
    ("paid_through", "at", "cuti_bersama", "lapsed_on", "why"),
    [
        (month(2026, 1), wib(2026, 5, 15, 23, 59), (), None, "May due today: 3 overdue"),
        (month(2026, 1), wib(2026, 5, 16, 0, 0), (), date(2026, 5, 16), "4 overdue: lapsed"),
        (month(2026, 1), wib(2026, 5, 16), (date(2026, 5, 15),), None, "cuti: due 18 May"),
        (month(2026, 1), wib(2026, 5, 18, 23, 0), (date(2026, 5, 15),), None, "due day itself"),
        (month(2026, 1), wib(2026, 5, 19), (date(2026, 5, 15),), date(2026, 5, 19), "lapsed"),
        (month(2026, 4), wib(2026, 8, 16), (), None, "Sunday; Aug due on the 18th"),
        (month(2026, 4), wib(2026, 8, 18), (), None, "18 Aug: still on time"),
        (month(2026, 4), wib(2026, 8, 19), (), date(2026, 8, 19), "19 Aug: lapsed"),
    ],
)
def test_lapse_boundary_is_the_day_after_the_fourth_unpaid_months_due_date(
    paid_through: date,
    at: datetime,
    cuti_bersama: tuple[date, ...],
    lapsed_on: date | None,
    why: str,
) -> None:
    the_rules = rules(cuti_bersama=cuti_bersama)
    coverage = Coverage(paid_through, month(2025, 6))

    assert the_rules.lapsed_on(coverage, at.date()) == lapsed_on, why
    assert the_rules.is_active(coverage, at.date()) is (lapsed_on is None), why


def test_paying_on_a_holiday_rolled_due_date_still_collects_arrears_instead_of_lapsing() -> None:
    # Paid through April 2026; August's due date rolls from Sat 15 to Tue 18 (17 is a holiday).
    on_time = rules().quote(Coverage(month(2026, 4), month(2025, 6)), wib(2026, 8, 18), 1)
    late = rules().quote(Coverage(month(2026, 4), month(2025, 6)), wib(2026, 8, 19), 1)

    assert (on_time.arrears_months, on_time.total_months * MONTHLY) == (3, 67_200)
    assert (late.new_period, late.total_months * MONTHLY) == (True, 16_800)


class Story:
    """A member registered on 10 December 2025 in a fresh batch, under one set of rules."""

    def __init__(self, the_rules: CoverageRules, nik: str = JAKARTA_MAN_NIK) -> None:
        self.rules = the_rules
        self.nik = nik
        self.batch = Batch(members={}, contributions={})
        if nik == PAPUA_NIK:
            reg = registration_payload(
                nik, full_name="YOHANES WENDA", birth_date=date(1985, 3, 12), sex="M"
            )
        else:
            reg = registration_payload(nik)
        self._apply(envelope(reg, partner_ref="REG-1", at=wib(2025, 12, 10)))
        self.n = 0

    def _apply(self, env: object) -> None:
        outcome = apply_event(self.batch, env, SCHEDULE, self.rules)  # type: ignore[arg-type]
        assert outcome.status == "recorded", outcome.reason

    def pay(self, at: datetime, months: int, amount: int) -> None:
        self.n += 1
        paid = ContributionPaid(nik=self.nik, months=months, amount=amount, paid_at=at)
        self._apply(envelope(paid, partner_ref=f"PAY-{self.n}", at=at))

    @property
    def member(self) -> MemberRecord:
        return self.batch.members[self.nik]


def test_four_months_behind_under_new_period_lapses_and_starts_a_new_period_same_member() -> None:
    story = Story(rules("new_period"))
    story.pay(wib(2026, 1, 10), 1, 16_800)  # paid through January
    kpj_holder = story.member

    story.pay(wib(2026, 6, 10), 1, 16_800)  # Feb..May unpaid: lapsed on 16 May

    assert story.member is kpj_holder
    assert (story.member.paid_through, story.member.period_start) == (
        month(2026, 6),
        month(2026, 6),
    )
    changes = [
        (c.field, c.old_value, c.new_value, c.effective_on) for c in story.batch.membership_changes
    ]
    assert changes == [
        ("membership", "active", "lapsed", date(2026, 5, 16)),
        ("period_start", "2025-12-01", "2026-06-01", date(2026, 6, 1)),
    ]
    last = story.batch.new_contributions[-1]
    assert (last.arrears_months, last.covers_from, last.covers_through) == (
        0,
        month(2026, 6),
        month(2026, 6),
    )


def test_four_months_behind_under_continue_collects_three_months_then_continues() -> None:
    story = Story(rules("continue"))
    story.pay(wib(2026, 1, 10), 1, 16_800)

    story.pay(wib(2026, 6, 10), 1, 67_200)  # March, April, May + June

    assert (story.member.paid_through, story.member.period_start) == (
        month(2026, 6),
        month(2025, 12),
    )
    assert [(c.field, c.new_value, c.effective_on) for c in story.batch.membership_changes] == [
        ("membership", "lapsed", date(2026, 5, 16))
    ]
    last = story.batch.new_contributions[-1]
    assert (last.arrears_months, last.months, last.covers_from) == (3, 1, month(2026, 3))


def test_paid_through_january_the_payment_on_10_march_covers_february_and_march() -> None:
    story = Story(rules())
    story.pay(wib(2026, 1, 10), 1, 16_800)

    story.pay(wib(2026, 3, 10), 1, 33_600)

    last = story.batch.new_contributions[-1]
    assert (last.covers_from, last.covers_through, last.arrears_months) == (
        month(2026, 2),
        month(2026, 3),
        1,
    )
    assert story.member.paid_through == month(2026, 3)
    assert story.batch.membership_changes == []


def test_a_payment_that_is_not_whole_months_is_rejected() -> None:
    story = Story(rules())
    paid = ContributionPaid(nik=story.nik, months=1, amount=20_000, paid_at=wib(2026, 1, 10))

    outcome = apply_event(story.batch, envelope(paid, partner_ref="PAY-X"), SCHEDULE, story.rules)

    assert outcome.status == "rejected"
    assert "amount 20000 does not match the amount due 16800" in (outcome.reason or "")


def test_a_lapsed_member_registering_again_under_new_period_starts_a_new_period() -> None:
    story = Story(rules("new_period"))
    story.pay(wib(2026, 1, 10), 1, 16_800)
    again = registration_payload(
        story.nik, full_name="BUDI SANTOSO", birth_date=date(1985, 3, 12), sex="M"
    )

    story._apply(envelope(again, partner_ref="REG-2", at=wib(2026, 7, 1)))

    assert story.member.period_start == month(2026, 7)
    assert [c.field for c in story.batch.membership_changes] == ["membership", "period_start"]
    # The next payment starts coverage in its own month, without arrears.
    story.pay(wib(2026, 8, 3), 1, 16_800)
    assert story.member.paid_through == month(2026, 8)


UTC_EDGE = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
"""23:30 WIB on 31 March; already 00:30 WITA and 01:30 WIT on 1 April."""


@pytest.mark.parametrize(
    ("nik", "why"),
    [
        (JAKARTA_MAN_NIK, "NIK from Jakarta, lives in Papua: months in WIB, not WIT"),
        (PAPUA_NIK, "NIK from Papua (WIT): months still in WIB"),
        (BALI_WOMAN_NIK, "NIK from Bali (WITA): months still in WIB"),
    ],
)
def test_a_member_who_moved_is_on_the_same_calendar_as_everyone(nik: str, why: str) -> None:
    story = Story(rules(), nik)
    story.pay(wib(2026, 2, 10), 1, 16_800)  # paid through February

    story.pay(UTC_EDGE, 1, 16_800)

    assert story.member.paid_through == month(2026, 3), why


def test_coverage_timezone_decides_the_month_when_configured_otherwise() -> None:
    wit_rules = CoverageRules(
        indonesian_calendar("Asia/Jayapura"), MembershipPolicy(after_lapse="new_period")
    )

    assert wit_rules.calendar.month_of(UTC_EDGE) == month(2026, 4)
    assert rules().calendar.month_of(UTC_EDGE) == month(2026, 3)
    assert UTC_EDGE.astimezone(timezone(timedelta(hours=9))).day == 1


def test_the_lapsed_row_is_written_once_however_many_events_follow() -> None:
    story = Story(rules("continue"))
    story.pay(wib(2026, 1, 10), 1, 16_800)
    again = registration_payload(
        story.nik, full_name="BUDI SANTOSO", birth_date=date(1985, 3, 12), sex="M"
    )

    story._apply(envelope(again, partner_ref="REG-2", at=wib(2026, 6, 1)))  # lapsed: recorded
    story.pay(wib(2026, 6, 10), 1, 67_200)  # continue: March to May, then June

    assert [(c.field, c.effective_on) for c in story.batch.membership_changes] == [
        ("membership", date(2026, 5, 16))
    ]
    assert (story.member.paid_through, story.member.lapsed_on) == (month(2026, 6), None)


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        # WIB is UTC+7: 17:00 UTC on 30 November is midnight, 1 December, in Jakarta.
        (datetime(2026, 11, 30, 16, 59, 59, tzinfo=UTC), "Asia/Jakarta", date(2026, 11, 30)),
        (datetime(2026, 11, 30, 17, 0, 0, tzinfo=UTC), "Asia/Jakarta", date(2026, 12, 1)),
        # WIT is UTC+9; the moment may arrive in any offset.
        (
            datetime(2026, 12, 1, 0, 0, tzinfo=timezone(timedelta(hours=9))),
            "Asia/Jayapura",
            date(2026, 12, 1),
        ),
        (
            datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=9))),
            "Asia/Jayapura",
            date(2026, 11, 30),
        ),
        # A zone a quarter hour off the hour (Nepal, UTC+5:45): the day turns at 18:15 UTC.
        (datetime(2026, 11, 30, 18, 14, 59, tzinfo=UTC), "Asia/Kathmandu", date(2026, 11, 30)),
        (datetime(2026, 11, 30, 18, 15, 0, tzinfo=UTC), "Asia/Kathmandu", date(2026, 12, 1)),
    ],
)
def test_the_day_and_month_of_a_moment_turn_at_midnight_in_the_calendars_zone(
    moment: datetime, zone: str, day: date
) -> None:
    calendar = indonesian_calendar(zone)
    assert calendar.today(moment) == day
    assert calendar.month_of(moment) == day.replace(day=1)
