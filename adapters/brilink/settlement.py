"""BRI's BRILink agent settlement report ("Laporan Settlement Agen"), comma-separated.

One row per payment an agent took, in BRI's host-to-host field names::

    journalSeq,agentId,nik,brivaNo,months,amount,transactionDateTime,status
    BRL-20261201-000001,AGN0001,,886600000000018,1,16800,2026-12-01T09:15:00+07:00,SUCCESS

``status`` is ``SUCCESS`` or ``REVERSED``; reversed rows are not settled cash and are skipped.
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

COLUMNS = (
    "journalSeq",
    "agentId",
    "nik",
    "brivaNo",
    "months",
    "amount",
    "transactionDateTime",
    "status",
)


class BrilinkSettlementReport:
    """Reader of the BRILink agent settlement report."""

    format_name = "brilink-settlement-report"

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        for line_no, row in csv_rows(stream, ",", COLUMNS):
            status = row["status"].strip().upper()
            if status == "REVERSED":
                continue
            if status != "SUCCESS":
                raise SettlementFileError(line_no, "status is SUCCESS or REVERSED")
            try:
                paid_at = datetime.fromisoformat(row["transactionDateTime"].strip())
            except ValueError:
                raise SettlementFileError(
                    line_no, "transactionDateTime is ISO 8601 with offset"
                ) from None
            yield SettlementLine(
                line_no=line_no,
                reference=optional(row["journalSeq"]),
                amount=whole_rupiah(line_no, row["amount"], "amount"),
                nik=optional(row["nik"]),
                payment_code=optional(row["brivaNo"]),
                months=whole_rupiah(line_no, row["months"], "months"),
                paid_at=paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=timezone),
                outlet=optional(row["agentId"]),
            )
