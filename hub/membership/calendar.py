"""The one calendar membership months and due dates are counted in.

Every member's months have the same edges, in ``coverage_timezone`` (config, WIB by
default), whatever province their NIK was first issued in: a NIK never changes when
its holder moves. A month's contribution is due on the 15th, rolled forward past
weekends, public holidays and collective leave (cuti bersama) to the next working day.
"""

import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

DUE_DAY = 15
_SATURDAY = 5
_QUARTER_HOUR_S = 900


def month_of(day: date) -> date:
    """The month ``day`` is in, as the first day of that month."""
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + (month.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """How many months ``end`` is after ``start`` (negative when before)."""
    return (end.year - start.year) * 12 + end.month - start.month


@functools.lru_cache(maxsize=4096)
def _day_in(timezone: ZoneInfo, quarter_hour: int) -> date:
    return datetime.fromtimestamp(quarter_hour * _QUARTER_HOUR_S, timezone).date()


@dataclass(frozen=True, slots=True)
class CoverageCalendar:
    """Month edges in one zone; due dates on working days.

    ``public_holidays`` is anything that answers ``day in ...`` (the ``holidays``
    library's Indonesia calendar in production, a plain set in tests);
    ``collective_leave`` adds the cuti bersama days config names.
    """

    timezone: ZoneInfo
    public_holidays: Container[date]
    collective_leave: frozenset[date] = field(default_factory=frozenset)

    def today(self, moment: datetime) -> date:
        """The day ``moment`` falls on in the calendar's zone."""
        # Every zone's offset is a whole number of quarter hours, so the day is the same
        # all through a UTC quarter hour: computed once per quarter hour, not per event
        # (converting each event's time to the zone took a sixth of the consumer's time).
        return _day_in(self.timezone, int(moment.timestamp()) // _QUARTER_HOUR_S)

    def month_of(self, moment: datetime) -> date:
        """The coverage month ``moment`` falls in."""
        return month_of(self.today(moment))

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < _SATURDAY
            and day not in self.public_holidays
            and day not in self.collective_leave
        )

    def due_date(self, month: date) -> date:
        """The last day ``month``'s contribution is on time: the 15th or the next working day."""
        day = month.replace(day=DUE_DAY)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def is_overdue(self, month: date, today: date) -> bool:
        """``month``'s contribution is overdue once its due date has passed."""
        return today > self.due_date(month)


def indonesian_calendar(timezone: str, collective_leave: Iterable[date] = ()) -> CoverageCalendar:
    """The calendar the hub runs on: Indonesia's public holidays from the ``holidays`` library.

    The library computes Indonesia's holidays (including the lunar and Islamic ones,
    some marked "estimated" until the government fixes them) for any year on demand;
    the government's cuti bersama decree comes from config.
    """
    return CoverageCalendar(
        ZoneInfo(timezone), holidays.country_holidays("ID"), frozenset(collective_leave)
    )
