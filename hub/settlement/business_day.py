"""The partner's business day an instant belongs to: its own time zone, its own cut-off.

Pure rules; the intake stores the result on each accepted payment and reversal, so a
later change of a partner's zone or cut-off never re-dates history.
"""

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MIDNIGHT = time(0, 0)


def business_date(moment: datetime, timezone: str, cutoff: time | None = None) -> date:
    """The business day ``moment`` falls in for a partner in ``timezone`` with ``cutoff``.

    At or after the cut-off (partner's wall clock) it is already the next day's business.
    No cut-off, or ``00:00``, means the day ends at midnight.
    """
    local = moment.astimezone(ZoneInfo(timezone))
    day = local.date()
    if cutoff is not None and cutoff != MIDNIGHT and local.time() >= cutoff:
        day += timedelta(days=1)
    return day


def first_open_day(day: date, closed: Collection[date]) -> date:
    """``day``, or the first later day that is not closed: nothing is added to a closed day."""
    while day in closed:
        day += timedelta(days=1)
    return day
