"""BRI's BRILink agent settlement report ("Laporan Settlement Agen"), comma-separated.

One row per payment an agent took, in BRI's host-to-host field names::

    journalSeq,agentId,nik,brivaNo,months,amount,transactionDateTime,status
    BRL-20261201-000001,AGN0001,,886600000000018,1,16800,2026-12-01T09:15:00+07:00,SUCCESS

``status`` is ``SUCCESS`` or ``REVERSED``; reversed rows are not settled cash and are skipped.
"""

from collections.abc import Mapping

from hub.reconciliation.lines import CsvSettlementReader, Field, SettlementFileError

COLUMNS: dict[str, Field | None] = {
    "journalSeq": "reference",
    "agentId": "outlet",
    "nik": "nik",
    "brivaNo": "payment_code",
    "months": "months",
    "amount": "amount",
    "transactionDateTime": "paid_at",
    "status": None,
}
"""The header's columns in file order, and the field of a line each gives."""


class BrilinkSettlementReport(CsvSettlementReader):
    """Reader of the BRILink agent settlement report."""

    format_name = "brilink-settlement-report"
    columns = COLUMNS

    def settled(self, line_no: int, row: Mapping[str, str]) -> bool:
        """A reversed payment is not settled cash."""
        status = row["status"].strip().upper()
        if status not in ("SUCCESS", "REVERSED"):
            raise SettlementFileError(line_no, "status is SUCCESS or REVERSED")
        return status == "SUCCESS"
