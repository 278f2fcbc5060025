"""A partner's business day: its own zone, its own cut-off, and never a closed day."""

from datetime import UTC, date, datetime, time

import pytest

from hub.settlement.business_day import business_date, first_open_day

CUTOFF = time(23, 0)


@pytest.mark.parametrize(
    ("utc", "zone", "cutoff", "expected"),
    [
        # 22:59:59 WIB stays on the 1st; 23:00 WIB belongs to the 2nd.
        (datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC), "Asia/Jakarta", CUTOFF, date(2026, 12, 1)),
        (datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC), "Asia/Jakarta", CUTOFF, date(2026, 12, 2)),
        # The same instant is already past the cut-off in WITA (23:00) and WIT (00:00).
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "Asia/Jakarta", CUTOFF, date(2026, 12, 1)),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "Asia/Makassar", CUTOFF, date(2026, 12, 2)),
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "Asia/Jayapura", CUTOFF, date(2026, 12, 2)),
        # No cut-off, or 00:00: the day ends at midnight.
        (datetime(2026, 12, 1, 16, 59, tzinfo=UTC), "Asia/Jakarta", None, date(2026, 12, 1)),
        (datetime(2026, 12, 1, 16, 59, tzinfo=UTC), "Asia/Jakarta", time(0, 0), date(2026, 12, 1)),
        (datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Asia/Jakarta", None, date(2026, 12, 2)),
        # 31 December 23:30 WIB with a 23:00 cut-off is New Year's business.
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "Asia/Jakarta", CUTOFF, date(2027, 1, 1)),
    ],
)
def test_business_date_follows_the_partners_zone_and_cutoff(
    utc: datetime, zone: str, cutoff: time | None, expected: date
) -> None:
    assert business_date(utc, zone, cutoff) == expected


def test_a_closed_day_sends_late_events_to_the_first_open_day_after_it() -> None:
    closed = {date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 4)}
    assert first_open_day(date(2026, 12, 1), closed) == date(2026, 12, 3)
    assert first_open_day(date(2026, 12, 3), closed) == date(2026, 12, 3)
