"""What a BPU member owes, from the schedule in config/hub.toml."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import InvalidRequest
from hub.membership.schedule import ContributionSchedule
from tests.unit.fakes import configured_schedule

JKK_JKM = ("JKK", "JKM")
WITH_JHT = ("JKK", "JKM", "JHT")


@pytest.fixture(scope="module")
def schedule() -> ContributionSchedule:
    return configured_schedule()


@pytest.mark.parametrize(
    ("income", "programmes", "monthly"),
    [
        (1_000_000, JKK_JKM, 16_800),
        (20_700_000, JKK_JKM, 207_000 + 6_800),
        (1_000_000, WITH_JHT, 10_000 + 6_800 + 20_000),
        (20_700_000, WITH_JHT, 207_000 + 6_800 + 414_000),
        (1_500_000, JKK_JKM, 15_000 + 6_800),
    ],
)
@pytest.mark.parametrize("months", [1, 3, 6, 12])
def test_amount_due_is_the_monthly_contribution_times_the_months(
    schedule: ContributionSchedule,
    income: int,
    programmes: tuple[str, ...],
    monthly: int,
    months: int,
) -> None:
    assert schedule.amount_due(income, programmes, months) == monthly * months


def test_cheapest_package_costs_sixteen_thousand_eight_hundred_a_month(
    schedule: ContributionSchedule,
) -> None:
    monthly = schedule.monthly(1_000_000, JKK_JKM)

    assert (monthly.jkk, monthly.jkm, monthly.jht, monthly.total) == (10_000, 6_800, 0, 16_800)


def test_top_bracket_pays_jkk_of_two_hundred_and_seven_thousand(
    schedule: ContributionSchedule,
) -> None:
    monthly = schedule.monthly(20_700_000, JKK_JKM)

    assert (monthly.jkk, monthly.jkm, monthly.total) == (207_000, 6_800, 213_800)


def test_programme_order_does_not_change_the_amount(schedule: ContributionSchedule) -> None:
    assert schedule.amount_due(1_000_000, ("JHT", "JKM", "JKK"), 3) == 36_800 * 3


@pytest.mark.parametrize("months", [0, 2, 4, 5, 24, -1])
def test_paying_for_other_than_1_3_6_or_12_months_is_refused(
    schedule: ContributionSchedule, months: int
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        schedule.amount_due(1_000_000, JKK_JKM, months)

    assert refused.value.problems[0].field == "months"
    assert "1, 3, 6, 12" in refused.value.message


def test_declared_income_between_brackets_is_refused_naming_the_nearest(
    schedule: ContributionSchedule,
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        schedule.check_declared_income(1_200_000)

    assert "1.000.000 or 1.500.000" in refused.value.message
    assert refused.value.problems[0].field == "declared_income"
    assert "1.000.000 or 1.500.000" in refused.value.problems[0].reason


@pytest.mark.parametrize(
    ("income", "nearest"),
    [(999_999, "1.000.000"), (0, "1.000.000"), (25_000_000, "20.700.000")],
)
def test_declared_income_outside_the_table_names_its_end(
    schedule: ContributionSchedule, income: int, nearest: str
) -> None:
    with pytest.raises(InvalidRequest, match=f"nearest: {nearest}$"):
        schedule.check_declared_income(income)


def test_every_bracket_in_the_table_is_accepted(schedule: ContributionSchedule) -> None:
    for income in schedule.income_brackets:
        schedule.check_declared_income(income)


def test_schedule_refuses_brackets_out_of_order() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        ContributionSchedule(100, 6_800, 200, (1,), (2_000_000, 1_000_000))


@given(st.integers(min_value=0, max_value=30_000_000))
def test_an_income_is_accepted_exactly_when_it_is_a_bracket(income: int) -> None:
    schedule = configured_schedule()
    if income in schedule.income_brackets:
        schedule.check_declared_income(income)
    else:
        with pytest.raises(InvalidRequest):
            schedule.check_declared_income(income)
