"""Alfamart's daily settlement file: semicolon-separated, its own field names, a TOTAL line.

::

    trx_id;store_code;payment_code;months;amount;datetime
    ALF-20261201-0001;A0123;886600000000018;1;16800;2026-12-01T09:15:00+07:00
    TOTAL;1;16800

``datetime`` is ISO 8601 with the store's offset, as in Alfamart's payment messages. The
``TOTAL`` line (count; sum) closes the file and is checked.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from hub.membership.payment_code import nik_or_payment_code
from hub.reconciliation.lines import (
    SettlementFileError,
    SettlementLine,
    csv_rows,
    optional,
    whole_rupiah,
)

COLUMNS = ("trx_id", "store_code", "payment_code", "months", "amount", "datetime")


class AlfamartDailyFile:
    """Reader of Alfamart's daily settlement CSV."""

    format_name = "alfamart-daily-settlement"

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        count = total = 0
        closing: tuple[int, int] | None = None
        last = 1
        for line_no, row in csv_rows(stream, ";", COLUMNS, short_rows=True):
            last = line_no
            if row["trx_id"] == "TOTAL":
                closing = (
                    whole_rupiah(line_no, row["store_code"], "TOTAL count"),
                    whole_rupiah(line_no, row["payment_code"], "TOTAL amount"),
                )
                continue
            if closing is not None:
                raise SettlementFileError(line_no, "a line after the TOTAL line")
            amount = whole_rupiah(line_no, row["amount"], "amount")
            count, total = count + 1, total + amount
            number = nik_or_payment_code(row["payment_code"].strip())
            try:
                paid_at = datetime.fromisoformat(row["datetime"].strip())
            except ValueError:
                raise SettlementFileError(line_no, "datetime is ISO 8601 with offset") from None
            yield SettlementLine(
                line_no=line_no,
                reference=optional(row["trx_id"]),
                amount=amount,
                nik=number.nik,
                payment_code=number.payment_code,
                months=whole_rupiah(line_no, row["months"], "months"),
                paid_at=paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=timezone),
                outlet=optional(row["store_code"]),
            )
        if closing is None:
            raise SettlementFileError(last + 1, "the file ends without its TOTAL line")
        if closing != (count, total):
            raise SettlementFileError(
                last, f"TOTAL says {closing[0]} / Rp{closing[1]}; the file has {count} / Rp{total}"
            )
