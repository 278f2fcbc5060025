"""The bill a bank's app shows: one line a month, arrears first, in English and Indonesian."""

from typing import Any

from adapters.bank.wire import InquiryBody
from hub.channels.fields import month as yyyy_mm
from hub.intake.model import InquiryAnswer
from hub.membership.coverage import add_months

_MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SUCCESS_REASON = {"english": "Success", "indonesia": "Sukses"}


def snap_amount(rupiah: int) -> dict[str, str]:
    return {"value": f"{rupiah}.00", "currency": "IDR"}


def bill_details(answer: InquiryAnswer) -> list[dict[str, Any]]:
    """One bill line per month covered, so the bank's app lists what the customer pays for.

    Arrears come first, oldest first, named "Tunggakan" (arrears) instead of "Iuran".
    """
    details = []
    for n in range(answer.arrears_months + answer.months):
        month = add_months(answer.covers_from, n)
        kind = "Tunggakan" if n < answer.arrears_months else "Iuran"
        details.append(
            {
                "billCode": f"{n + 1:02d}",
                "billNo": f"{month:%Y%m}",
                "billName": f"{kind} BPU {month:%m/%Y}",
                "billShortName": f"{month:%m/%Y}",
                "billDescription": {
                    "english": f"{_MONTHS_EN[month.month - 1]} {month.year}",
                    "indonesia": f"{_MONTHS_ID[month.month - 1]} {month.year}",
                },
                "billAmount": snap_amount(answer.monthly_amount),
            }
        )
    return details


def inquiry_data(wire: InquiryBody, answer: InquiryAnswer) -> dict[str, Any]:
    """``virtualAccountData`` of service 24: a closed-amount VA bill with one line a month."""
    return {
        "inquiryStatus": "00",
        "inquiryReason": SUCCESS_REASON,
        "partnerServiceId": wire.partner_service_id,
        "customerNo": wire.customer_no,
        "virtualAccountNo": wire.virtual_account_no,
        "virtualAccountName": answer.masked_name,
        "inquiryRequestId": wire.inquiry_request_id,
        "totalAmount": snap_amount(answer.amount_due),
        "billDetails": bill_details(answer),
        "virtualAccountTrxType": "C",
        "additionalInfo": {
            "months": answer.months,
            "coversFrom": f"{answer.covers_from:%Y-%m}",
            "coversThrough": f"{answer.covers_through:%Y-%m}",
            "arrearsMonths": answer.arrears_months,
            "arrearsFrom": yyyy_mm(answer.arrears_from),
            "arrearsThrough": yyyy_mm(answer.arrears_through),
            "memberStatus": answer.member_status,
            "programmes": list(answer.programmes),
        },
    }
