"""BNI's agent settlement file: fixed-width records, as a bank switch writes them.

Each payment is one 80-character ``D`` record (positions are 1-based, inclusive)::

    1      record type "D"
    2-13   RRN (ISO 8583 field 37: the payment's reference)
    14-19  STAN (field 11)
    20-27  transaction date YYYYMMDD (local, the agent's zone)
    28-33  transaction time HHMMSS
    34-53  bill id (field 61: NIK or payment code), left-aligned, space-padded
    54-55  months
    56-67  amount in whole rupiah, zero-padded
    68-75  terminal id (field 41)
    76-80  filler

A ``H`` record opens the file and a ``T`` record (``T`` + 6-digit count + 15-digit total)
closes it; the reader checks the trailer.
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

RECORD_LENGTH = 80


class Bni46SettlementFile:
    """Reader of BNI's fixed-width agent settlement file."""

    format_name = "bni46-settlement-fixed"

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        count = total = 0
        trailer: tuple[int, int] | None = None
        for line_no, raw in enumerate(text_lines(stream, "ascii"), start=1):
            record = raw.rstrip("\r\n")
            if not record:
                continue
            kind = record[:1]
            if line_no == 1:
                if kind != "H":
                    raise SettlementFileError(1, "the first record must be the H header")
                continue
            if kind == "T":
                trailer = (
                    whole_rupiah(line_no, record[1:7], "trailer count"),
                    whole_rupiah(line_no, record[7:22], "trailer total"),
                )
                continue
            if trailer is not None:
                raise SettlementFileError(line_no, "a record after the T trailer")
            if kind != "D" or len(record) != RECORD_LENGTH:
                raise SettlementFileError(
                    line_no, f"a D record is {RECORD_LENGTH} characters, not {len(record)}"
                )
            amount = whole_rupiah(line_no, record[55:67], "amount")
            count, total = count + 1, total + amount
            number = nik_or_payment_code(record[33:53].strip())
            yield SettlementLine(
                line_no=line_no,
                reference=record[1:13].strip() or None,
                amount=amount,
                nik=number.nik,
                payment_code=number.payment_code,
                months=whole_rupiah(line_no, record[53:55], "months"),
                paid_at=local_time(line_no, record[19:33], "%Y%m%d%H%M%S", timezone, "date/time"),
                outlet=record[67:75].strip() or None,
            )
        if trailer is None:
            raise SettlementFileError(count + 2, "the file ends without its T trailer")
        if trailer != (count, total):
            raise SettlementFileError(
                count + 2,
                f"the trailer says {trailer[0]} / Rp{trailer[1]}; the file has {count} / Rp{total}",
            )
