"""The canonical settlement CSV, for partners on the hub's own API.

Its columns are the statement's (``GET /v1/settlements/{date}?format=csv``), header row
first, so a partner may send the statement back as its settlement file. Lines marked
``reversed`` are payments the partner also took back: not settled cash, not matched.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import (
    SettlementFileError,
    SettlementLine,
    csv_rows,
    optional,
    whole_rupiah,
)
from hub.settlement.statement import STATEMENT_COLUMNS


class CanonicalCsv:
    """Reader of the canonical CSV (comma-separated, UTF-8, the statement's header)."""

    format_name = "hub-canonical-csv"
    columns = STATEMENT_COLUMNS

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        for line_no, row in csv_rows(stream, ",", ("reference", "amount")):
            if (row.get("status") or "").strip() == "reversed":
                continue
            months = optional(row.get("months"))
            yield SettlementLine(
                line_no=line_no,
                reference=optional(row["reference"]),
                amount=whole_rupiah(line_no, row["amount"], "amount"),
                nik=optional(row.get("nik")),
                months=None if months is None else whole_rupiah(line_no, months, "months"),
                paid_at=_time(line_no, optional(row.get("paid_at")), timezone),
            )


def _time(line_no: int, text: str | None, timezone: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SettlementFileError(line_no, f"paid_at {text!r} is not ISO 8601") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone)
