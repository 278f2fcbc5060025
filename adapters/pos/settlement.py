"""Kantor Pos's daily report ("Laporan Harian Loket"), semicolon-separated, Indonesian headers.

::

    noReferensi;kodeKantor;nik;kodeBayar;jumlahBulan;nominal;waktuBayar
    POS-20261201-0001;10110;5171044508900001;;1;16800;01-12-2026 09:15:00

``waktuBayar`` is ``DD-MM-YYYY HH:MM:SS`` on the post office's clock. Agents' offline
collections may lack ``noReferensi``: such rows are matched by (NIK, amount, time).
"""

from collections.abc import Iterator
from typing import BinaryIO
from zoneinfo import ZoneInfo

from hub.reconciliation.lines import (
    SettlementLine,
    csv_rows,
    local_time,
    optional,
    whole_rupiah,
)

COLUMNS = ("noReferensi", "kodeKantor", "nik", "kodeBayar", "jumlahBulan", "nominal", "waktuBayar")


class PosDailyReport:
    """Reader of the Kantor Pos daily report."""

    format_name = "pos-laporan-harian"
    references_optional = True

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        for line_no, row in csv_rows(stream, ";", COLUMNS):
            yield SettlementLine(
                line_no=line_no,
                reference=optional(row["noReferensi"]),
                amount=whole_rupiah(line_no, row["nominal"], "nominal"),
                nik=optional(row["nik"]),
                payment_code=optional(row["kodeBayar"]),
                months=whole_rupiah(line_no, row["jumlahBulan"], "jumlahBulan"),
                paid_at=local_time(
                    line_no, row["waktuBayar"], "%d-%m-%Y %H:%M:%S", timezone, "waktuBayar"
                ),
                outlet=optional(row["kodeKantor"]),
            )
