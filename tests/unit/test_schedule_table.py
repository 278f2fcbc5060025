"""What a BPU member owes, as a table: programmes x months x income brackets.

The schedule under test is config/hub.toml [schedule] as loaded by the hub; the
numbers below are only the amounts that schedule must produce.
"""

import pytest

from hub.errors import InvalidRequest
from hub.membership.schedule import ContributionSchedule
from tests.unit.fakes import configured_schedule

JKK_JKM = ("JKK", "JKM")
WITH_JHT = ("JKK", "JKM", "JHT")

MINIMUM = 1_000_000
MIDDLE = 5_000_000
MAXIMUM = 20_700_000


@pytest.fixture(scope="module")
def schedule() -> ContributionSchedule:
    return configured_schedule()


@pytest.mark.parametrize(
    ("income", "programmes", "jkk", "jkm", "jht", "total"),
    [
        pytest.param(MINIMUM, JKK_JKM, 10_000, 6_800, 0, 16_800, id="min-jkk-jkm"),
        pytest.param(MIDDLE, JKK_JKM, 50_000, 6_800, 0, 56_800, id="mid-jkk-jkm"),
        pytest.param(MAXIMUM, JKK_JKM, 207_000, 6_800, 0, 213_800, id="max-jkk-jkm"),
        pytest.param(MINIMUM, WITH_JHT, 10_000, 6_800, 20_000, 36_800, id="min-with-jht"),
        pytest.param(MIDDLE, WITH_JHT, 50_000, 6_800, 100_000, 156_800, id="mid-with-jht"),
        pytest.param(MAXIMUM, WITH_JHT, 207_000, 6_800, 414_000, 627_800, id="max-with-jht"),
    ],
)
def test_one_months_contribution_per_programme(
    schedule: ContributionSchedule,
    income: int,
    programmes: tuple[str, ...],
    jkk: int,
    jkm: int,
    jht: int,
    total: int,
) -> None:
    schedule.check_declared_income(income)

    monthly = schedule.monthly(income, programmes)

    assert (monthly.jkk, monthly.jkm, monthly.jht, monthly.total) == (jkk, jkm, jht, total)


AMOUNT_DUE = [
    # JKK + JKM
    (MINIMUM, JKK_JKM, 1, 16_800),
    (MINIMUM, JKK_JKM, 3, 50_400),
    (MINIMUM, JKK_JKM, 6, 100_800),
    (MINIMUM, JKK_JKM, 12, 201_600),
    (MIDDLE, JKK_JKM, 1, 56_800),
    (MIDDLE, JKK_JKM, 3, 170_400),
    (MIDDLE, JKK_JKM, 6, 340_800),
    (MIDDLE, JKK_JKM, 12, 681_600),
    (MAXIMUM, JKK_JKM, 1, 213_800),
    (MAXIMUM, JKK_JKM, 3, 641_400),
    (MAXIMUM, JKK_JKM, 6, 1_282_800),
    (MAXIMUM, JKK_JKM, 12, 2_565_600),
    # JKK + JKM + JHT
    (MINIMUM, WITH_JHT, 1, 36_800),
    (MINIMUM, WITH_JHT, 3, 110_400),
    (MINIMUM, WITH_JHT, 6, 220_800),
    (MINIMUM, WITH_JHT, 12, 441_600),
    (MIDDLE, WITH_JHT, 1, 156_800),
    (MIDDLE, WITH_JHT, 3, 470_400),
    (MIDDLE, WITH_JHT, 6, 940_800),
    (MIDDLE, WITH_JHT, 12, 1_881_600),
    (MAXIMUM, WITH_JHT, 1, 627_800),
    (MAXIMUM, WITH_JHT, 3, 1_883_400),
    (MAXIMUM, WITH_JHT, 6, 3_766_800),
    (MAXIMUM, WITH_JHT, 12, 7_533_600),
]


@pytest.mark.parametrize(
    ("income", "programmes", "months", "amount"),
    [pytest.param(*row, id=f"{row[0]}-{'+'.join(row[1])}-{row[2]}m") for row in AMOUNT_DUE],
)
def test_amount_due_for_each_package_bracket_and_number_of_months(
    schedule: ContributionSchedule,
    income: int,
    programmes: tuple[str, ...],
    months: int,
    amount: int,
) -> None:
    assert schedule.amount_due(income, programmes, months) == amount


def test_the_table_covers_every_number_of_months_the_schedule_allows(
    schedule: ContributionSchedule,
) -> None:
    assert {months for _, _, months, _ in AMOUNT_DUE} == set(schedule.allowed_months)


def test_the_table_runs_from_the_lowest_to_the_highest_bracket(
    schedule: ContributionSchedule,
) -> None:
    assert (schedule.income_brackets[0], schedule.income_brackets[-1]) == (MINIMUM, MAXIMUM)
    assert MINIMUM < MIDDLE < MAXIMUM
    assert MIDDLE in schedule.income_brackets


@pytest.mark.parametrize(
    ("income", "nearest"),
    [
        pytest.param(1_000_001, "1.000.000 or 1.500.000", id="just-above-the-minimum"),
        pytest.param(1_200_000, "1.000.000 or 1.500.000", id="between-the-first-two"),
        pytest.param(1_499_999, "1.000.000 or 1.500.000", id="just-below-the-second"),
        pytest.param(4_750_000, "4.500.000 or 5.000.000", id="middle-of-the-table"),
        pytest.param(10_500_000, "10.000.000 or 11.000.000", id="where-steps-widen"),
        pytest.param(20_350_000, "20.000.000 or 20.700.000", id="between-the-last-two"),
        pytest.param(999_999, "1.000.000", id="just-below-the-minimum"),
        pytest.param(0, "1.000.000", id="zero"),
        pytest.param(20_700_001, "20.700.000", id="just-above-the-maximum"),
        pytest.param(100_000_000, "20.700.000", id="far-above-the-maximum"),
    ],
)
def test_declared_income_that_is_not_a_bracket_is_refused_naming_the_nearest(
    schedule: ContributionSchedule, income: int, nearest: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        schedule.check_declared_income(income)

    assert refused.value.message.endswith(f"nearest: {nearest}")
    (problem,) = refused.value.problems
    assert problem.field == "declared_income"
    assert problem.reason.endswith(f"nearest valid: {nearest}")


@pytest.mark.parametrize("programmes", [JKK_JKM, WITH_JHT], ids=["jkk-jkm", "with-jht"])
@pytest.mark.parametrize("months", [-1, 0, 2, 4, 5, 7, 8, 9, 10, 11, 13, 24])
def test_paying_for_a_number_of_months_not_in_1_3_6_12_is_refused(
    schedule: ContributionSchedule, programmes: tuple[str, ...], months: int
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        schedule.amount_due(MINIMUM, programmes, months)

    assert refused.value.message == "months must be one of 1, 3, 6, 12"
    (problem,) = refused.value.problems
    assert problem.field == "months"
