"""Coverage as tables: paid-through month and active status, by the rules and through the ledger.

A month's contribution is due by its 15th; there is no fine and no arrears (a late
payer starts again from the month before the payment); after 3 consecutive unpaid
months the member is inactive until a later payment. Months are counted in the
member's own zone: WIB (Jakarta, 31), WITA (Bali, 51) or WIT (Papua, 91).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hub.membership.coverage import extend_coverage, is_active, local_month
from hub.membership.ledger import Batch, MemberRecord, apply_event
from hub.membership.schedule import ContributionSchedule
from schemas.events import ContributionPaid, RegistrationSubmitted
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    JAKARTA_MAN_NIK,
    configured_schedule,
    envelope,
    registration_payload,
)

PAPUA_NIK = "9171011203850002"
"""A man born 1985-03-12 in Papua (province 91, WIT)."""

WIB = timezone(timedelta(hours=7), "WIB")
REGISTERED_AT = datetime(2025, 11, 3, 10, 0, tzinfo=WIB)


def wib(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock time in Jakarta, as most partners' hosts stamp it."""
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def month(year: int, month: int) -> date:
    return date(year, month, 1)


@pytest.fixture(scope="module")
def schedule() -> ContributionSchedule:
    return configured_schedule()


def _registration(nik: str) -> RegistrationSubmitted:
    if nik == PAPUA_NIK:
        return registration_payload(
            nik, full_name="YOHANES WENDA", birth_date=date(1985, 3, 12), sex="M"
        )
    return registration_payload(nik)


def _member_after(
    schedule: ContributionSchedule,
    nik: str,
    registered_at: datetime,
    payments: list[tuple[datetime, int]],
) -> MemberRecord:
    """Register ``nik``, then apply each (paid_at, months) payment in order, at the right price."""
    batch = Batch(members={}, contributions={})
    apply_event(
        batch, envelope(_registration(nik), partner_ref="REG-1", at=registered_at), schedule
    )
    member = batch.members[nik]
    for i, (paid_at, months) in enumerate(payments):
        amount = schedule.amount_due(member.declared_income, member.programmes, months)
        paid = ContributionPaid(nik=nik, months=months, amount=amount, paid_at=paid_at)
        outcome = apply_event(batch, envelope(paid, partner_ref=f"PAY-{i}", at=paid_at), schedule)
        assert outcome.status == "recorded", outcome.reason
    return member


@pytest.mark.parametrize(
    ("paid_through", "paid_in", "months", "expected"),
    [
        pytest.param(None, month(2026, 3), 1, month(2026, 3), id="first-payment-covers-its-month"),
        pytest.param(None, month(2026, 3), 12, month(2027, 2), id="first-payment-for-a-year"),
        pytest.param(month(2026, 2), month(2026, 3), 1, month(2026, 3), id="on-time-continues"),
        pytest.param(month(2026, 2), month(2026, 3), 6, month(2026, 8), id="on-time-six-months"),
        pytest.param(month(2026, 1), month(2026, 3), 1, month(2026, 3), id="late-two-months"),
        pytest.param(month(2026, 1), month(2026, 5), 3, month(2026, 7), id="late-restarts"),
        pytest.param(month(2024, 6), month(2026, 5), 1, month(2026, 5), id="years-late"),
        pytest.param(month(2026, 3), month(2026, 3), 1, month(2026, 4), id="this-month-paid"),
        pytest.param(month(2026, 6), month(2026, 3), 3, month(2026, 9), id="in-advance-adds"),
        pytest.param(month(2027, 2), month(2026, 3), 12, month(2028, 2), id="a-year-ahead"),
        pytest.param(month(2025, 12), month(2026, 1), 1, month(2026, 1), id="dec-to-jan"),
        pytest.param(month(2025, 11), month(2025, 12), 3, month(2026, 2), id="dec-three-months"),
        pytest.param(month(2025, 12), month(2026, 1), 12, month(2026, 12), id="jan-for-a-year"),
        pytest.param(None, month(2025, 12), 12, month(2026, 11), id="dec-for-a-year"),
        pytest.param(month(2025, 10), month(2026, 1), 1, month(2026, 1), id="late-over-new-year"),
        pytest.param(month(2026, 11), month(2025, 12), 1, month(2026, 12), id="ahead-over-year"),
    ],
)
def test_paid_through_after_a_payment(
    paid_through: date | None, paid_in: date, months: int, expected: date
) -> None:
    assert extend_coverage(paid_through, paid_in, months) == expected


@pytest.mark.parametrize(
    ("paid_through", "registered", "today", "active"),
    [
        pytest.param(month(2026, 1), month(2025, 6), date(2026, 2, 15), True, id="feb-not-due"),
        pytest.param(month(2026, 1), month(2025, 6), date(2026, 2, 16), True, id="one-unpaid"),
        pytest.param(month(2026, 1), month(2025, 6), date(2026, 3, 16), True, id="two-unpaid"),
        pytest.param(month(2026, 1), month(2025, 6), date(2026, 4, 15), True, id="apr-not-due"),
        pytest.param(month(2026, 1), month(2025, 6), date(2026, 4, 16), False, id="three-unpaid"),
        pytest.param(month(2026, 1), month(2025, 6), date(2027, 1, 1), False, id="long-lapsed"),
        pytest.param(None, month(2026, 1), date(2026, 1, 31), True, id="new-member"),
        pytest.param(None, month(2026, 1), date(2026, 3, 15), True, id="never-paid-mar-15"),
        pytest.param(None, month(2026, 1), date(2026, 3, 16), False, id="never-paid-mar-16"),
        pytest.param(month(2025, 11), month(2025, 1), date(2026, 2, 15), True, id="over-year-15"),
        pytest.param(month(2025, 11), month(2025, 1), date(2026, 2, 16), False, id="over-year-16"),
        pytest.param(month(2026, 12), month(2026, 1), date(2026, 3, 20), True, id="paid-ahead"),
    ],
)
def test_member_is_inactive_after_three_consecutive_unpaid_months(
    paid_through: date | None, registered: date, today: date, active: bool
) -> None:
    assert is_active(paid_through, registered, today) is active


@dataclass(frozen=True, slots=True)
class Story:
    """A Jakarta member's payments (WIB), and what the ledger makes of them on ``today``."""

    payments: list[tuple[datetime, int]]
    today: date
    paid_through: date | None
    active: bool
    registered_at: datetime = REGISTERED_AT


STORIES = {
    "on-time-first-payment": Story(
        [(wib(2025, 11, 10), 1)], date(2025, 11, 20), month(2025, 11), True
    ),
    "on-time-every-month": Story(
        [(wib(2026, 1, 10), 1), (wib(2026, 2, 14), 1), (wib(2026, 3, 15, 23, 59), 1)],
        date(2026, 3, 20),
        month(2026, 3),
        True,
    ),
    "late-after-the-15th-continues-from-last-month": Story(
        [(wib(2026, 1, 10), 1), (wib(2026, 2, 20), 1)], date(2026, 2, 21), month(2026, 2), True
    ),
    "late-after-months-unpaid-restarts-without-arrears": Story(
        [(wib(2026, 1, 10), 1), (wib(2026, 5, 20), 3)], date(2026, 5, 21), month(2026, 7), True
    ),
    "still-active-on-the-15th-of-the-third-unpaid-month": Story(
        [(wib(2026, 1, 10), 1)], date(2026, 4, 15), month(2026, 1), True
    ),
    "lapses-on-the-16th-of-the-third-unpaid-month": Story(
        [(wib(2026, 1, 10), 1)], date(2026, 4, 16), month(2026, 1), False
    ),
    "never-paid-lapses-in-the-third-month": Story([], date(2026, 1, 16), None, False),
    "lapsed-member-before-paying-again": Story(
        [(wib(2026, 1, 10), 1)], date(2026, 9, 20), month(2026, 1), False
    ),
    "a-later-payment-reactivates": Story(
        [(wib(2026, 1, 10), 1), (wib(2026, 9, 20), 1)], date(2026, 9, 20), month(2026, 9), True
    ),
    "reactivated-before-the-15th": Story(
        [(wib(2026, 1, 10), 1), (wib(2026, 9, 3), 1)], date(2026, 9, 3), month(2026, 9), True
    ),
    "in-advance-adds-to-paid-through": Story(
        [(wib(2026, 3, 10), 3), (wib(2026, 3, 12), 6)], date(2026, 3, 20), month(2026, 11), True
    ),
    "in-advance-from-a-later-month": Story(
        [(wib(2026, 3, 10), 12), (wib(2026, 6, 10), 1)], date(2026, 6, 20), month(2027, 3), True
    ),
    "year-boundary-dec-then-jan": Story(
        [(wib(2025, 12, 10), 1), (wib(2026, 1, 10), 1)], date(2026, 1, 20), month(2026, 1), True
    ),
    "twelve-months-paid-in-december": Story(
        [(wib(2025, 12, 10), 12)], date(2026, 11, 30), month(2026, 11), True
    ),
    "twelve-months-after-december-coverage": Story(
        [(wib(2025, 12, 10), 1), (wib(2026, 1, 5), 12)], date(2026, 1, 5), month(2026, 12), True
    ),
    "a-year-from-march-is-active-until-may-15-next-year": Story(
        [(wib(2026, 3, 10), 12)], date(2027, 5, 15), month(2027, 2), True
    ),
    "a-year-from-march-lapses-on-may-16-next-year": Story(
        [(wib(2026, 3, 10), 12)], date(2027, 5, 16), month(2027, 2), False
    ),
    "lapse-counted-across-new-year": Story(
        [(wib(2025, 11, 10), 1)], date(2026, 2, 16), month(2025, 11), False
    ),
}


@pytest.mark.parametrize("story", list(STORIES.values()), ids=list(STORIES))
def test_paid_through_and_status_after_the_ledger_applies_a_members_payments(
    schedule: ContributionSchedule, story: Story
) -> None:
    member = _member_after(schedule, JAKARTA_MAN_NIK, story.registered_at, story.payments)

    assert member.paid_through == story.paid_through
    assert is_active(member.paid_through, member.registered_month, story.today) is story.active


LAST_DAY_2330_WIB = [
    (wib(2026, 1, 31, 23, 30), month(2026, 1), month(2026, 2), month(2026, 2)),
    (wib(2025, 12, 31, 23, 30), month(2025, 12), month(2026, 1), month(2026, 1)),
    (wib(2026, 2, 28, 23, 30), month(2026, 2), month(2026, 3), month(2026, 3)),
    (wib(2028, 2, 29, 23, 30), month(2028, 2), month(2028, 3), month(2028, 3)),
    (wib(2026, 4, 30, 23, 30), month(2026, 4), month(2026, 5), month(2026, 5)),
    # 22:30 WIB is 23:30 in Bali but already 00:30 in Papua.
    (wib(2026, 4, 30, 22, 30), month(2026, 4), month(2026, 4), month(2026, 5)),
    (wib(2026, 4, 30, 21, 59), month(2026, 4), month(2026, 4), month(2026, 4)),
    (wib(2026, 5, 1, 0, 0), month(2026, 5), month(2026, 5), month(2026, 5)),
]
ZONE_ROWS = [
    pytest.param(nik, at, expected[i], id=f"{at:%Y-%m-%d-%H%M}WIB-{zone}")
    for at, *expected in LAST_DAY_2330_WIB
    for i, (nik, zone) in enumerate(
        [(JAKARTA_MAN_NIK, "31-WIB"), (BALI_WOMAN_NIK, "51-WITA"), (PAPUA_NIK, "91-WIT")]
    )
]


@pytest.mark.parametrize(("nik", "at", "expected"), ZONE_ROWS)
def test_late_evening_payment_falls_in_the_month_of_the_members_own_zone(
    schedule: ContributionSchedule, nik: str, at: datetime, expected: date
) -> None:
    member = _member_after(schedule, nik, at, [(at, 1)])

    assert member.registered_month == expected
    assert member.paid_through == expected


@pytest.mark.parametrize(("nik", "at", "expected"), ZONE_ROWS)
def test_the_instants_zone_of_writing_does_not_change_the_month(
    schedule: ContributionSchedule, nik: str, at: datetime, expected: date
) -> None:
    member = _member_after(schedule, nik, at, [(at.astimezone(UTC), 1)])

    assert member.paid_through == expected


@pytest.mark.parametrize(
    ("nik", "paid_through"),
    [
        pytest.param(JAKARTA_MAN_NIK, month(2026, 1), id="31-WIB-still-january"),
        pytest.param(BALI_WOMAN_NIK, month(2026, 2), id="51-WITA-already-february"),
        pytest.param(PAPUA_NIK, month(2026, 2), id="91-WIT-already-february"),
    ],
)
def test_late_payer_at_half_past_eleven_wib_restarts_in_their_own_month(
    schedule: ContributionSchedule, nik: str, paid_through: date
) -> None:
    payments = [(wib(2025, 10, 10), 1), (wib(2026, 1, 31, 23, 30), 1)]

    member = _member_after(schedule, nik, wib(2025, 10, 1), payments)

    assert member.paid_through == paid_through


@pytest.mark.parametrize(
    ("province", "zone", "expected"),
    [
        ("11", "WIB", month(2026, 1)),  # Aceh
        ("31", "WIB", month(2026, 1)),  # DKI Jakarta
        ("61", "WIB", month(2026, 1)),  # Kalimantan Barat
        ("62", "WIB", month(2026, 1)),  # Kalimantan Tengah
        ("51", "WITA", month(2026, 2)),  # Bali
        ("53", "WITA", month(2026, 2)),  # Nusa Tenggara Timur
        ("63", "WITA", month(2026, 2)),  # Kalimantan Selatan
        ("64", "WITA", month(2026, 2)),  # Kalimantan Timur
        ("73", "WITA", month(2026, 2)),  # Sulawesi Selatan
        ("81", "WIT", month(2026, 2)),  # Maluku
        ("91", "WIT", month(2026, 2)),  # Papua
        ("96", "WIT", month(2026, 2)),  # Papua Barat Daya
    ],
)
def test_month_of_half_past_eleven_wib_on_the_last_day_by_province(
    province: str, zone: str, expected: date
) -> None:
    nik = f"{province}71011203850002"

    assert local_month(nik, wib(2026, 1, 31, 23, 30)) == expected
