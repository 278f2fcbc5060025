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

from collections.abc import Mapping

from hub.membership.payment_code import nik_or_payment_code
from hub.reconciliation.lines import (
    CsvSettlementReader,
    Field,
    SettlementFileError,
    whole_rupiah,
)

COLUMNS: dict[str, Field | None] = {
    "partnerServiceId": None,
    "customerNo": None,
    "virtualAccountNo": None,
    "paymentRequestId": "reference",
    "paidAmount": "amount",
    "currency": None,
    "trxDateTime": "paid_at",
}
"""The header's columns in file order, and the field of a line each gives."""


class SnapVaTransactionReport(CsvSettlementReader):
    """Reader of a SNAP BI bank's VA transaction report."""

    format_name = "snap-va-transaction-report"
    columns = COLUMNS

    def settled(self, line_no: int, row: Mapping[str, str]) -> bool:
        if row["currency"].strip() != "IDR":
            raise SettlementFileError(line_no, "currency must be IDR")
        return True

    def amount(self, line_no: int, text: str, name: str) -> int:
        """SNAP's ``value``: two decimals, which must be ``.00``."""
        value = text.strip()
        whole, _, cents = value.partition(".")
        if cents not in ("", "00"):
            raise SettlementFileError(line_no, f"{name} {value} is not whole rupiah")
        return whole_rupiah(line_no, whole, name)

    def member(self, row: Mapping[str, str]) -> tuple[str | None, str | None]:
        """``customerNo`` is a NIK or a KPJ; the report's KPJ is matched by the bill, so only
        a NIK is read."""
        return nik_or_payment_code(row["customerNo"].strip()).nik, None
