"""Coverage: which month a member is paid through, and when they lapse."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.membership.coverage import (
    add_months,
    covers_from,
    extend_coverage,
    is_active,
    local_month,
    unpaid_months,
)
from tests.unit.fakes import BALI_WOMAN_NIK, JAKARTA_MAN_NIK

PAPUA_NIK = "9171011203850002"


def test_first_payment_covers_the_month_it_is_paid_in() -> None:
    assert extend_coverage(None, date(2026, 3, 1), 1) == date(2026, 3, 1)


def test_first_payment_for_three_months_covers_this_month_and_the_next_two() -> None:
    assert extend_coverage(None, date(2026, 3, 1), 3) == date(2026, 5, 1)


def test_early_payment_adds_to_what_is_already_paid() -> None:
    assert extend_coverage(date(2026, 6, 1), date(2026, 3, 1), 3) == date(2026, 9, 1)


def test_payment_in_the_month_after_coverage_ends_continues_without_a_gap() -> None:
    assert extend_coverage(date(2026, 2, 1), date(2026, 3, 1), 1) == date(2026, 3, 1)


def test_late_payment_restarts_from_the_month_it_is_paid_in() -> None:
    # Paid through January, pays in May: no arrears, coverage restarts in May.
    assert extend_coverage(date(2026, 1, 1), date(2026, 5, 1), 1) == date(2026, 5, 1)


def test_payment_in_december_for_three_months_runs_into_the_next_year() -> None:
    assert extend_coverage(None, date(2025, 12, 1), 3) == date(2026, 2, 1)


def test_payment_in_january_after_december_coverage_starts_the_new_year() -> None:
    assert extend_coverage(date(2025, 12, 1), date(2026, 1, 1), 12) == date(2026, 12, 1)


def test_a_year_of_coverage_paid_in_january_ends_in_december() -> None:
    assert extend_coverage(None, date(2026, 1, 1), 12) == date(2026, 12, 1)


def test_next_payment_covers_from_the_month_after_paid_through() -> None:
    assert covers_from(date(2026, 6, 1), date(2026, 3, 1)) == date(2026, 7, 1)
    assert covers_from(None, date(2026, 3, 1)) == date(2026, 3, 1)
    assert covers_from(date(2025, 12, 1), date(2026, 4, 1)) == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("month", "n", "expected"),
    [
        (date(2026, 1, 1), -1, date(2025, 12, 1)),
        (date(2025, 12, 1), 1, date(2026, 1, 1)),
        (date(2026, 3, 1), 0, date(2026, 3, 1)),
        (date(2026, 3, 1), 24, date(2028, 3, 1)),
        (date(2026, 3, 1), -15, date(2024, 12, 1)),
    ],
)
def test_months_are_added_across_year_boundaries(month: date, n: int, expected: date) -> None:
    assert add_months(month, n) == expected


def test_member_who_registered_this_month_is_active() -> None:
    assert is_active(None, date(2026, 1, 1), date(2026, 1, 20))


@pytest.mark.parametrize(
    ("today", "active"),
    [
        (date(2026, 4, 15), True),  # April not yet due: Feb and Mar unpaid
        (date(2026, 4, 16), False),  # Feb, Mar and Apr unpaid: lapsed
        (date(2026, 3, 31), True),
        (date(2026, 5, 1), False),
    ],
)
def test_member_lapses_after_three_unpaid_months_counted_from_the_fifteenth(
    today: date, active: bool
) -> None:
    assert is_active(date(2026, 1, 1), date(2025, 6, 1), today) is active


def test_member_who_never_paid_lapses_in_the_third_month_after_registering() -> None:
    registered = date(2026, 1, 1)

    assert is_active(None, registered, date(2026, 3, 15))
    assert not is_active(None, registered, date(2026, 3, 16))


def test_a_later_payment_reactivates_a_lapsed_member() -> None:
    today = date(2026, 9, 20)
    assert not is_active(date(2026, 1, 1), date(2025, 6, 1), today)

    paid_through = extend_coverage(date(2026, 1, 1), date(2026, 9, 1), 1)

    assert is_active(paid_through, date(2025, 6, 1), today)


def test_member_paid_ahead_owes_nothing() -> None:
    assert unpaid_months(date(2026, 12, 1), date(2026, 1, 1), date(2026, 3, 1)) == 0


def test_payment_at_half_past_eleven_in_jakarta_falls_in_january() -> None:
    moment = datetime(2026, 1, 31, 16, 30, tzinfo=UTC)

    assert local_month(JAKARTA_MAN_NIK, moment) == date(2026, 1, 1)


def test_the_same_instant_is_already_february_in_bali_and_papua() -> None:
    moment = datetime(2026, 1, 31, 16, 30, tzinfo=UTC)

    assert local_month(BALI_WOMAN_NIK, moment) == date(2026, 2, 1)
    assert local_month(PAPUA_NIK, moment) == date(2026, 2, 1)


def test_half_past_five_utc_on_the_last_day_is_february_everywhere() -> None:
    moment = datetime(2026, 1, 31, 17, 30, tzinfo=UTC)

    assert local_month(JAKARTA_MAN_NIK, moment) == date(2026, 2, 1)
    assert local_month(BALI_WOMAN_NIK, moment) == date(2026, 2, 1)


months = st.builds(date, st.integers(2000, 2100), st.integers(1, 12), st.just(1))


@given(st.none() | months, months, st.sampled_from([1, 3, 6, 12]))
def test_a_payment_never_moves_coverage_backwards(
    paid_through: date | None, paid_in: date, n: int
) -> None:
    through = extend_coverage(paid_through, paid_in, n)

    if paid_through is not None:
        assert through > paid_through
    assert through >= paid_in
    assert through.day == 1


@given(st.none() | months, months, st.sampled_from([1, 3, 6, 12]))
def test_a_payment_covers_exactly_the_months_paid_for(
    paid_through: date | None, paid_in: date, n: int
) -> None:
    first = covers_from(paid_through, paid_in)

    assert extend_coverage(paid_through, paid_in, n) == add_months(first, n - 1)
