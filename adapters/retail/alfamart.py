"""Alfamart: the store host's JSON calls, signed with HMAC-SHA512, answered with a 4-digit code.

``response_code`` decides and the HTTP status agrees with it (200, 400, 401, 404,
409, 422, 503, 500). Field names, codes and the signature are documented for the
partner in docs/channels/alfamart.md. The operations themselves are the retail
counter's (``adapters.retail.adapter``).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Request
from fastapi.responses import Response
from pydantic import AfterValidator, AwareDatetime, Field

from adapters.retail.adapter import (
    RetailAdapter,
    RetailMessages,
    RetailTerms,
    StoreMessage,
)
from adapters.retail.alfamart_settlement import AlfamartDailyFile
from adapters.retail.counter import ReversalMismatch, TransactionNotFound
from hub import errors
from hub.channels.base import SignedOptions
from hub.channels.codes import CodeTable, Envelope, Refusals, answering
from hub.channels.signatures import (
    BASE64_SHA512,
    Body,
    Claim,
    SignatureScheme,
    as_sent,
    base64_hmac_sha512,
)
from hub.errors import HubError, InvalidRequest, Unauthenticated
from hub.intake.model import Partner
from hub.intake.requests import check_year

AUTHORIZATION_SCHEME = "ALFA"
TIMESTAMP_HEADER = "X-Alfa-Timestamp"

ANSWERS: dict[str, tuple[int, str, Refusals]] = {
    "0000": (200, "Success", ()),
    "0101": (404, "Payment code or NIK not found", (errors.NotFound,)),
    "0102": (422, "Bill already paid", (errors.AlreadyPaid,)),
    "0103": (422, "Amount does not match", (errors.AmountMismatch, ReversalMismatch)),
    "0104": (404, "Original transaction not found", (TransactionNotFound,)),
    "0105": (422, "Transaction cannot be reversed", (errors.NotReversible,)),
    "0106": (409, "Transaction already reversed", (errors.AlreadyReversed,)),
    "0107": (409, "trx_id already used for a different transaction", (errors.ReferenceConflict,)),
    "0201": (400, "Missing mandatory field", ()),
    "0202": (400, "Invalid field format", (errors.InvalidRequest,)),
    "0301": (401, "Unauthorized", (errors.Unauthenticated,)),
    "0302": (403, "Forbidden", (errors.Forbidden,)),
    "0901": (
        503,
        "Service temporarily unavailable, please retry",
        (errors.TemporarilyUnavailable,),
    ),
    "0999": (500, "System error", ()),
}
"""Each response code: its HTTP status, its message and the refusals it answers (the most
specific class wins; a missing field is told apart from a malformed one by the adapter)."""
DESCRIPTIONS = {code: text for code, (_, text, _) in ANSWERS.items()}
MISSING_FIELD = "0201"

CODES = CodeTable(
    answering({code: refusals for code, (_, _, refusals) in ANSWERS.items()}),
    otherwise="0999",
    envelope=Envelope("response_code", "message", DESCRIPTIONS, success="0000"),
    status_by_code={code: status for code, (status, _, _) in ANSWERS.items()},
)
"""Each refusal's code, found along the error's class hierarchy (most specific first)."""

REGISTRATION_NAMES = {
    "reference": "trx_id",
    "outlet_id": "store_code",
    "nik": "nik",
    "full_name": "name",
    "birth_date": "birth_date",
    "sex": "gender",
    "phone": "phone",
    "address": "address",
    "occupation": "occupation",
    "declared_income": "income",
    "programmes": "programs",
}
PAYMENT_NAMES = {
    "reference": "trx_id",
    "nik": "payment_code",
    "payment_code": "payment_code",
    "months": "months",
    "amount": "amount",
    "paid_at": "datetime",
    "outlet_id": "store_code",
    "kind": "trx_type",
}
REVERSAL_NAMES = {
    "reference": "trx_id",
    "payment_reference": "original_trx_id",
    "reason": "reason",
    "amount": "amount",
}
ANSWER_NAMES = {
    "reference": "trx_id",
    "payment_reference": "original_trx_id",
    "hub_reference": "ref_no",
    "masked_name": "customer_name",
    "programmes": "programs",
    "covers_from": "period_from",
    "covers_through": "period_to",
    "arrears_through": "arrears_to",
    "amount_due": "amount",
    "kind": "trx_type",
    "bill_amount": "amount_due",
}
"""Answer fields Alfamart names otherwise than the hub; the rest are the hub's own names."""


def string_to_sign(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """``METHOD \\n path \\n X-Alfa-Timestamp \\n lowercase hex SHA-256(raw body)``."""
    return _string_to_sign(method, path, timestamp, Body.of(body).sha256_hex)


def sign(secret: str, message: bytes) -> str:
    """The signature in ``Authorization: ALFA <partner>:<signature>``: base64 HMAC-SHA512."""
    return base64_hmac_sha512(secret, message)


def _string_to_sign(method: str, path: str, timestamp: str, digest: str) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{digest}".encode()


def _claim(headers: Mapping[str, str]) -> Claim | None:
    """``Authorization: ALFA <partner>:<signature>`` and ``X-Alfa-Timestamp``."""
    scheme, _, credentials = headers.get("Authorization", "").partition(" ")
    partner_id, _, signature = credentials.strip().partition(":")
    timestamp = headers.get(TIMESTAMP_HEADER)
    if scheme != AUTHORIZATION_SCHEME or not partner_id or not signature or not timestamp:
        return None
    return Claim(partner_id, timestamp, signature)


def _signed_at(timestamp: str, partner: Partner) -> datetime:
    try:
        signed_at = check_year(datetime.fromisoformat(timestamp))
    except ValueError:
        signed_at = None
    if signed_at is None or signed_at.tzinfo is None:
        raise ValueError(f"{TIMESTAMP_HEADER} must be ISO 8601 with an offset")
    return signed_at


SCHEME = SignatureScheme(
    timestamp_header=TIMESTAMP_HEADER,
    signature_header="Authorization",
    shape=BASE64_SHA512,
    required=(
        f"Authorization: {AUTHORIZATION_SCHEME} <partner>:<signature> "
        f"and {TIMESTAMP_HEADER} are required"
    ),
    claim=_claim,
    sent_at=_signed_at,
    string_to_sign=lambda m: _string_to_sign(
        m.method, m.path, m.claim.timestamp, m.body.sha256_hex
    ),
    mac=base64_hmac_sha512,
    normalise=as_sent,
)

StoreTime = Annotated[AwareDatetime, AfterValidator(check_year)]


class Registration(StoreMessage):
    """Register a BPU member at the counter"""

    trx_id: str
    store_code: str
    nik: str
    name: str
    birth_date: str = Field(description="YYYY-MM-DD")
    gender: Literal["M", "F"]
    phone: str
    address: str
    occupation: str
    income: int
    programs: list[str]


class Inquiry(StoreMessage):
    """What a member owes for 1, 3, 6 or 12 months"""

    trx_id: str | None = None
    store_code: str | None = None
    payment_code: str = Field(description="The member's payment code, or their NIK, as typed")
    months: int = 1


class Payment(StoreMessage):
    """Pay a member's contribution"""

    trx_id: str
    store_code: str
    payment_code: str
    months: int
    amount: int
    transacted_at: StoreTime = Field(
        alias="datetime", description="ISO 8601 with an offset: the store's local time"
    )


class Reversal(StoreMessage):
    """Take back a payment (same business day)"""

    trx_id: str = Field(description="This reversal's own id; repeats of it reuse it")
    original_trx_id: str = Field(description="trx_id of the payment to take back")
    store_code: str | None = None
    amount: int
    reason: str | None = None


class CheckStatus(StoreMessage):
    """Status of a registration or payment you sent, and of its reversal"""

    trx_id: str
    trx_type: Literal["registration", "payment"]


class AlfamartAdapter(RetailAdapter[SignedOptions], slug="alfamart", title="Alfamart"):
    """Alfamart's host: registration, inquiry, payment, advice, reversal and status."""

    settlement_reader = AlfamartDailyFile()
    signature_scheme = SCHEME
    messages = RetailMessages(Registration, Inquiry, Payment, Reversal, CheckStatus)
    terms = RetailTerms.of(REGISTRATION_NAMES, PAYMENT_NAMES, REVERSAL_NAMES, ANSWER_NAMES)
    codes = CODES
    lists_field_problems = True

    def code_of(self, error: HubError) -> str:
        """Alfamart tells a missing field (0201) from a malformed one (0202)."""
        code = super().code_of(error)
        problems = error.problems if isinstance(error, InvalidRequest) else []
        if code == "0202" and problems and all(p.kind == "missing" for p in problems):
            return MISSING_FIELD
        return code

    def error_response(self, request: Request, error: Exception) -> Response:
        response = super().error_response(request, error)
        if isinstance(error, Unauthenticated):
            response.headers["WWW-Authenticate"] = AUTHORIZATION_SCHEME
        return response


ADAPTER = AlfamartAdapter
