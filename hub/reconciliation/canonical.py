"""The canonical settlement CSV, for partners on the hub's own API.

Its columns are the statement's (``GET /v1/settlements/{date}?format=csv``), header row
first, so a partner may send the statement back as its settlement file. Lines marked
``reversed`` are payments the partner also took back: not settled cash, not matched.
An ``agent_id`` column (Perisai agencies) becomes each line's outlet in the report.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import (
    SettlementFileError,
    SettlementLine,
    csv_table,
    whole_rupiah,
)
from hub.settlement.statement import STATEMENT_COLUMNS
from schemas.fields import ascii_digits


class CanonicalCsv:
    """Reader of the canonical CSV (comma-separated, UTF-8, the statement's header)."""

    format_name = "hub-canonical-csv"
    columns = STATEMENT_COLUMNS

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        at, rows = csv_table(stream, ",", ("reference", "amount"))
        reference, amount = at["reference"], at["amount"]
        nik, months, paid_at, status, agent = (
            at.get(c) for c in ("nik", "months", "paid_at", "status", "agent_id")
        )
        for line_no, row in rows:
            if status is not None and row[status] == "reversed":
                continue
            value = row[amount]
            if not ascii_digits(value):
                value = str(whole_rupiah(line_no, value, "amount"))
            count = None if months is None else row[months] or None
            if count is not None and not ascii_digits(count):
                whole_rupiah(line_no, count, "months")  # raises: not a whole number
            yield SettlementLine(
                line_no,
                row[reference] or None,
                int(value),
                None if nik is None else row[nik] or None,
                None,
                None if count is None else int(count),
                None if paid_at is None else _time(line_no, row[paid_at] or None, timezone),
                # An agency's agent is its outlet: exceptions name who collected the cash.
                None if agent is None else row[agent] or None,
            )


def _time(line_no: int, text: str | None, timezone: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SettlementFileError(line_no, f"paid_at {text!r} is not ISO 8601") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone)
