"""Indomaret's daily settlement file ("Rekap Transaksi Harian"), pipe-delimited.

One ``H`` header record, a ``D`` record per payment in Indomaret's own field order, and a
``T`` trailer with the count and the sum, which the reader checks at the end::

    H|INDOMARET|BPJSTK-BPU|20261201
    D|NoTransaksi|KodeToko|KodeBayar|JumlahBulan|Nominal|TglTransaksi
    T|JumlahTransaksi|TotalNominal

``KodeBayar`` is what the cashier typed: a payment code, or a 16-digit NIK.
``TglTransaksi`` is ``yyyyMMddHHmmss`` on the store's wall clock (the partner's zone).
"""

from collections.abc import Iterator
from typing import BinaryIO
from zoneinfo import ZoneInfo

from hub.membership.payment_code import nik_or_payment_code
from hub.reconciliation.lines import (
    SettlementFileError,
    SettlementLine,
    local_time,
    text_lines,
    whole_rupiah,
)


class IndomaretDailyFile:
    """Reader of Indomaret's Rekap Transaksi Harian."""

    format_name = "indomaret-rekap-harian"

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        count = total = 0
        trailer: tuple[int, int] | None = None
        for line_no, raw in enumerate(text_lines(stream), start=1):
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split("|")
            kind = fields[0]
            if line_no == 1:
                if kind != "H" or len(fields) < 4 or fields[1] != "INDOMARET":
                    raise SettlementFileError(1, "the first record must be H|INDOMARET|...")
                continue
            if trailer is not None:
                raise SettlementFileError(line_no, "a record after the T trailer")
            if kind == "T":
                if len(fields) != 3:
                    raise SettlementFileError(line_no, "T|JumlahTransaksi|TotalNominal")
                trailer = (
                    whole_rupiah(line_no, fields[1], "JumlahTransaksi"),
                    whole_rupiah(line_no, fields[2], "TotalNominal"),
                )
                continue
            if kind != "D" or len(fields) != 7:
                raise SettlementFileError(
                    line_no,
                    "a D record has 7 fields: D|NoTransaksi|KodeToko|KodeBayar|"
                    "JumlahBulan|Nominal|TglTransaksi",
                )
            _, reference, store, typed, months, nominal, at = fields
            amount = whole_rupiah(line_no, nominal, "Nominal")
            count += 1
            total += amount
            number = nik_or_payment_code(typed)
            yield SettlementLine(
                line_no=line_no,
                reference=reference.strip() or None,
                amount=amount,
                nik=number.nik,
                payment_code=number.payment_code,
                months=whole_rupiah(line_no, months, "JumlahBulan"),
                paid_at=local_time(line_no, at, "%Y%m%d%H%M%S", timezone, "TglTransaksi"),
                outlet=store or None,
            )
        if trailer is None:
            raise SettlementFileError(count + 2, "the file ends without its T trailer")
        if trailer != (count, total):
            raise SettlementFileError(
                count + 2,
                f"the trailer says {trailer[0]} transactions, Rp{trailer[1]}; "
                f"the file has {count}, Rp{total}",
            )
