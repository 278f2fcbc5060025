"""Coverage: arrears, lapse and what a payment covers, as BPJS Ketenagakerjaan applies them.

Months are the first day of the month (``date(y, m, 1)``) in the one coverage
calendar (``hub.membership.calendar``). A member's coverage is a period that
started in ``period_start`` and is paid through ``paid_through``:

- **Arrears.** Months after the paid-through month and before the current month are
  arrears. A payment settles them first, oldest first (at most
  ``max_arrears_months``), then covers the months asked for. An inquiry quotes both.
- **Lapse.** More than ``lapse_after_months`` consecutive unpaid months, counted from
  the end of coverage and each overdue once its due date passed, end the period.
  A later payment follows ``after_lapse``: ``new_period`` starts a new period from
  the payment's month; ``continue`` collects the arrears cap, then continues.

See docs/membership.md for the sources and worked examples.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from hub.membership.calendar import (
    CoverageCalendar,
    add_months,
    indonesian_calendar,
    month_of,
    months_between,
)

__all__ = [
    "AfterLapse",
    "ArrearsFirst",
    "Coverage",
    "CoverageRules",
    "MembershipPolicy",
    "Plan",
    "add_months",
    "default_rules",
    "month_of",
    "months_between",
]

AfterLapse = Literal["new_period", "continue"]


@dataclass(frozen=True, slots=True)
class MembershipPolicy:
    """The numbers of the arrears and lapse rules; from config (``[membership]``)."""

    max_arrears_months: int = 3
    lapse_after_months: int = 3
    after_lapse: AfterLapse = "new_period"

    def __post_init__(self) -> None:
        if not 0 <= self.max_arrears_months <= self.lapse_after_months:
            raise ValueError("max_arrears_months must be between 0 and lapse_after_months")


@dataclass(frozen=True, slots=True)
class Coverage:
    """A member's coverage: the current period's first month and the month paid through.

    ``paid_through`` may predate the period (a new period after a lapse, not yet paid
    for): then the period has no coverage yet.
    """

    paid_through: date | None
    period_start: date

    @property
    def last_covered(self) -> date | None:
        """The last month covered in the current period, or None if none is yet."""
        if self.paid_through is None or self.paid_through < add_months(self.period_start, -1):
            return None
        return self.paid_through


class ArrearsFirst:
    """Months paid from ``covers_from``: ``arrears_months`` of arrears, then those asked for.

    For a payment's plan and for the bill an inquiry quotes before it.
    """

    __slots__ = ()
    covers_from: date
    arrears_months: int

    @property
    def arrears_from(self) -> date | None:
        return self.covers_from if self.arrears_months else None

    @property
    def arrears_through(self) -> date | None:
        if not self.arrears_months:
            return None
        return add_months(self.covers_from, self.arrears_months - 1)

    @property
    def months_from(self) -> date:
        """The first of the months asked for (after the arrears)."""
        return add_months(self.covers_from, self.arrears_months)


@dataclass(frozen=True, slots=True)
class Plan(ArrearsFirst):
    """What a payment made at one moment covers: arrears first, then the months asked for."""

    arrears_months: int
    months: int
    covers_from: date
    covers_through: date
    new_period: bool
    """The payment starts a new period (after a lapse under ``new_period``)."""
    lapsed_on: date | None
    """The day the current period lapsed, if it has by the time of the payment."""

    @property
    def total_months(self) -> int:
        return self.arrears_months + self.months


@dataclass(frozen=True, slots=True)
class CoverageRules:
    """The arrears and lapse rules on one calendar; pure, no I/O."""

    calendar: CoverageCalendar
    policy: MembershipPolicy

    def lapse_date(self, coverage: Coverage) -> date | None:
        """The first day the period is lapsed: after the due date of the first month
        beyond ``lapse_after_months`` unpaid ones. None while nothing is covered."""
        last = coverage.last_covered
        if last is None:
            return None
        month = add_months(last, self.policy.lapse_after_months + 1)
        return self.calendar.due_date(month) + timedelta(days=1)

    def lapsed_on(self, coverage: Coverage, today: date) -> date | None:
        """The day the period lapsed, if it has by ``today``."""
        lapse = self.lapse_date(coverage)
        return lapse if lapse is not None and lapse <= today else None

    def is_active(self, coverage: Coverage, today: date) -> bool:
        """Active unless more than ``lapse_after_months`` months in a row are overdue.

        A member who never paid in this period counts from the month before it
        started, so a registration nobody pays for also turns inactive.
        """
        last = coverage.last_covered or add_months(coverage.period_start, -1)
        month = add_months(last, self.policy.lapse_after_months + 1)
        return not self.calendar.is_overdue(month, today)

    def arrears_due(self, coverage: Coverage, moment: datetime) -> tuple[int, date]:
        """Arrears to collect at ``moment`` and the first month a payment then covers."""
        this_month = self.calendar.month_of(moment)
        last = coverage.last_covered
        if last is None:
            return 0, this_month
        behind = months_between(last, this_month) - 1
        if behind <= 0:
            return 0, add_months(last, 1)
        lapsed = self.lapsed_on(coverage, self.calendar.today(moment)) is not None
        if lapsed and self.policy.after_lapse == "new_period":
            return 0, this_month
        arrears = min(behind, self.policy.max_arrears_months)
        return arrears, add_months(this_month, -arrears)

    def quote(self, coverage: Coverage, moment: datetime, months: int) -> Plan:
        """What an inquiry at ``moment`` asks for ``months`` months: the arrears, then those."""
        arrears, _ = self.arrears_due(coverage, moment)
        return self.plan(coverage, moment, arrears + months)

    def plan(self, coverage: Coverage, moment: datetime, total_months: int) -> Plan:
        """What ``total_months`` months paid at ``moment`` cover: oldest arrears first."""
        arrears, first = self.arrears_due(coverage, moment)
        lapsed_on = self.lapsed_on(coverage, self.calendar.today(moment))
        settled = min(arrears, total_months)
        return Plan(
            arrears_months=settled,
            months=total_months - settled,
            covers_from=first,
            covers_through=add_months(first, total_months - 1),
            new_period=lapsed_on is not None and self.policy.after_lapse == "new_period",
            lapsed_on=lapsed_on,
        )

    def after_payment(self, coverage: Coverage, plan: Plan) -> Coverage:
        """The coverage once ``plan``'s payment is applied."""
        start = plan.covers_from if plan.new_period else coverage.period_start
        return Coverage(paid_through=plan.covers_through, period_start=start)


def default_rules() -> CoverageRules:
    """The rules with config's defaults: WIB, Indonesia's holidays, 3 months, ``new_period``."""
    return CoverageRules(indonesian_calendar("Asia/Jakarta"), MembershipPolicy())
