"""Kantor Pos's daily report ("Laporan Harian Loket"), semicolon-separated, Indonesian headers.

::

    noReferensi;kodeKantor;nik;kodeBayar;jumlahBulan;nominal;waktuBayar
    POS-20261201-0001;10110;5171044508900001;;1;16800;01-12-2026 09:15:00

``waktuBayar`` is ``DD-MM-YYYY HH:MM:SS`` on the post office's clock. Agents' offline
collections may lack ``noReferensi``: such rows are matched by (NIK, amount, time).
"""

from hub.reconciliation.lines import CsvSettlementReader, Field

COLUMNS: dict[str, Field | None] = {
    "noReferensi": "reference",
    "kodeKantor": "outlet",
    "nik": "nik",
    "kodeBayar": "payment_code",
    "jumlahBulan": "months",
    "nominal": "amount",
    "waktuBayar": "paid_at",
}
"""The header's columns in file order, and the field of a line each gives."""


class PosDailyReport(CsvSettlementReader):
    """Reader of the Kantor Pos daily report."""

    format_name = "pos-laporan-harian"
    references_optional = True
    delimiter = ";"
    columns = COLUMNS
    time_format = "%d-%m-%Y %H:%M:%S"
