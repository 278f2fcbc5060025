"""Coverage: the month a member is paid through, and whether they are active.

Months are the first day of the month (``date(y, m, 1)``), in the member's own
time zone (WIB, WITA or WIT, from the NIK's province code).
"""

from datetime import date, datetime

from schemas.nik import parse_nik

LAPSE_AFTER_UNPAID_MONTHS = 3


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + (month.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def local_month(nik: str, moment: datetime) -> date:
    """The calendar month ``moment`` falls in where the member lives."""
    return month_of(moment.astimezone(parse_nik(nik).region.tzinfo).date())


def extend_coverage(paid_through: date | None, paid_in_month: date, months: int) -> date:
    """Paid-through month after paying ``months`` months in ``paid_in_month``.

    A payment extends from the later of the current paid-through month and the
    month before the payment, so a late payer starts again from the current
    month (no arrears, no fine) and an early payer adds to what they have.
    """
    start = add_months(paid_in_month, -1)
    if paid_through is not None and paid_through > start:
        start = paid_through
    return add_months(start, months)


def covers_from(paid_through: date | None, paid_in_month: date) -> date:
    """The first month a payment made now would cover."""
    return add_months(extend_coverage(paid_through, paid_in_month, 0), 1)


def unpaid_months(paid_through: date | None, registered_month: date, today_month: date) -> int:
    """How many months up to and including ``today_month`` are not covered."""
    last_covered = paid_through if paid_through is not None else add_months(registered_month, -1)
    return max(
        0, (today_month.year - last_covered.year) * 12 + today_month.month - last_covered.month
    )


def is_active(paid_through: date | None, registered_month: date, today: date) -> bool:
    """Inactive after 3 consecutive unpaid months; a month is due by its 15th."""
    due_month = month_of(today) if today.day > 15 else add_months(month_of(today), -1)
    return unpaid_months(paid_through, registered_month, due_month) < LAPSE_AFTER_UNPAID_MONTHS
