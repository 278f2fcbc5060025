"""The BPU contribution schedule: what a member owes for N months."""

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from hub.errors import FieldProblem, InvalidRequest

_BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class MonthlyContribution:
    """One month's contribution, per programme, in whole rupiah."""

    jkk: int
    jkm: int
    jht: int

    @property
    def total(self) -> int:
        return self.jkk + self.jkm + self.jht


@dataclass(frozen=True, slots=True)
class ContributionSchedule:
    """Rates and brackets from config; see config/hub.toml [schedule]."""

    jkk_rate_bp: int
    jkm_flat: int
    jht_rate_bp: int
    allowed_months: tuple[int, ...]
    income_brackets: tuple[int, ...]
    max_months_ahead: int = 12
    """How far beyond the current month a member may be paid through."""

    def __post_init__(self) -> None:
        if list(self.income_brackets) != sorted(set(self.income_brackets)):
            raise ValueError("income brackets must be strictly increasing")

    def check_declared_income(self, declared_income: int) -> None:
        """Refuse an income that is not a bracket, naming the nearest valid ones."""
        if declared_income in self.income_brackets:
            return
        i = bisect.bisect_left(self.income_brackets, declared_income)
        nearest = self.income_brackets[max(i - 1, 0) : i + 1]
        listed = " or ".join(f"{b:,}".replace(",", ".") for b in nearest)
        raise InvalidRequest(
            f"declared income {declared_income} is not a bracket; nearest: {listed}",
            [FieldProblem("declared_income", f"not a bracket; nearest valid: {listed}")],
        )

    def check_months(self, months: int) -> None:
        if months not in self.allowed_months:
            allowed = ", ".join(str(m) for m in self.allowed_months)
            raise InvalidRequest(
                f"months must be one of {allowed}",
                [FieldProblem("months", f"must be one of {allowed}")],
            )

    def monthly(self, declared_income: int, programmes: Iterable[str]) -> MonthlyContribution:
        """One month's contribution for the member's income and programmes."""
        chosen = set(programmes)
        return MonthlyContribution(
            jkk=_percent(declared_income, self.jkk_rate_bp) if "JKK" in chosen else 0,
            jkm=self.jkm_flat if "JKM" in chosen else 0,
            jht=_percent(declared_income, self.jht_rate_bp) if "JHT" in chosen else 0,
        )

    def amount_due(self, declared_income: int, programmes: Iterable[str], months: int) -> int:
        """What the member owes for ``months`` months, in whole rupiah."""
        self.check_months(months)
        return self.monthly(declared_income, programmes).total * months


def _percent(amount: int, basis_points: int) -> int:
    """Round half up to whole rupiah, in integers: money never passes through a float."""
    return (amount * basis_points + _BASIS_POINTS // 2) // _BASIS_POINTS
