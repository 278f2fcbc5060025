"""A SNAP BI bank's virtual-account transaction report, comma-separated, SNAP field names.

::

    partnerServiceId,customerNo,virtualAccountNo,paymentRequestId,paidAmount,currency,
        trxDateTime
    "    8866",00000000018,"    886600000000018",MDR-20261201-0001,16800.00,IDR,
        2026-12-01T09:15:00+07:00

(one line each; wrapped here).

``paymentRequestId`` is the payment's reference (as in SNAP service 25); ``paidAmount`` is
SNAP's ``value`` with two decimals, which must be whole rupiah (``.00``). Months are not in
the report: they follow from the hub's bill, so such lines are matched, not paid in.
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

COLUMNS = (
    "partnerServiceId",
    "customerNo",
    "virtualAccountNo",
    "paymentRequestId",
    "paidAmount",
    "currency",
    "trxDateTime",
)


class SnapVaTransactionReport:
    """Reader of a SNAP BI bank's VA transaction report."""

    format_name = "snap-va-transaction-report"

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        for line_no, row in csv_rows(stream, ",", COLUMNS):
            if row["currency"].strip() != "IDR":
                raise SettlementFileError(line_no, "currency must be IDR")
            value = row["paidAmount"].strip()
            whole, _, cents = value.partition(".")
            if cents not in ("", "00"):
                raise SettlementFileError(line_no, f"paidAmount {value} is not whole rupiah")
            try:
                paid_at = datetime.fromisoformat(row["trxDateTime"].strip())
            except ValueError:
                raise SettlementFileError(line_no, "trxDateTime is ISO 8601 with offset") from None
            customer = row["customerNo"].strip()
            yield SettlementLine(
                line_no=line_no,
                reference=optional(row["paymentRequestId"]),
                amount=whole_rupiah(line_no, whole, "paidAmount"),
                nik=nik_or_payment_code(customer).nik,
                payment_code=None,
                months=None,
                paid_at=paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=timezone),
            )
