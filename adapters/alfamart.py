"""Alfamart: the store host's JSON calls, signed with HMAC-SHA512, answered with a 4-digit code.

``response_code`` decides and the HTTP status agrees with it (200, 400, 401, 404,
409, 422, 503, 500). Field names, codes and the signature are documented for the
partner in docs/channels/alfamart.md.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from adapters.alfamart_settlement import AlfamartDailyFile
from adapters.retail import (
    RetailCounter,
    ReversalMismatch,
    TransactionNotFound,
    TransactionStatus,
    body_doc,
    check_signed_at,
    check_year,
)
from hub.channels.base import ChannelContext, ChannelOptions, HttpChannelAdapter
from hub.channels.signatures import BASE64_SHA512, well_formed
from hub.errors import (
    AlreadyPaid,
    AlreadyReversed,
    AmountMismatch,
    Forbidden,
    HubError,
    InvalidRequest,
    NotFound,
    NotReversible,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import InquiryAnswer, Partner, RequestView
from hub.intake.parsing import parse_json

AUTHORIZATION_SCHEME = "ALFA"
TIMESTAMP_HEADER = "X-Alfa-Timestamp"

MESSAGES: dict[str, tuple[int, str]] = {
    "0000": (200, "Success"),
    "0101": (404, "Payment code or NIK not found"),
    "0102": (422, "Bill already paid"),
    "0103": (422, "Amount does not match"),
    "0104": (404, "Original transaction not found"),
    "0105": (422, "Transaction cannot be reversed"),
    "0106": (409, "Transaction already reversed"),
    "0107": (409, "trx_id already used for a different transaction"),
    "0201": (400, "Missing mandatory field"),
    "0202": (400, "Invalid field format"),
    "0301": (401, "Unauthorized"),
    "0302": (403, "Forbidden"),
    "0901": (503, "Service temporarily unavailable, please retry"),
    "0999": (500, "System error"),
}
"""Each response code, the HTTP status that goes with it and its message."""
SUCCESS = "0000"
SYSTEM_ERROR = "0999"

_CODES: dict[type[HubError], str] = {
    TransactionNotFound: "0104",
    NotFound: "0101",
    AlreadyPaid: "0102",
    AmountMismatch: "0103",
    ReversalMismatch: "0103",
    NotReversible: "0105",
    AlreadyReversed: "0106",
    ReferenceConflict: "0107",
    InvalidRequest: "0202",
    Unauthenticated: "0301",
    Forbidden: "0302",
    TemporarilyUnavailable: "0901",
}
"""Each refusal's code, found along the error's class hierarchy (most specific first)."""

_STATUS = {"accepted": "ACCEPTED", "recorded": "RECORDED", "rejected": "REJECTED"}
_MEMBER_STATUS = {"active": "ACTIVE", "inactive": "INACTIVE", "pending": "PENDING"}

_REGISTRATION_NAMES = {
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
_PAYMENT_NAMES = {
    "reference": "trx_id",
    "nik": "payment_code",
    "payment_code": "payment_code",
    "months": "months",
    "amount": "amount",
    "paid_at": "datetime",
    "outlet_id": "store_code",
}
_REVERSAL_NAMES = {
    "reference": "trx_id",
    "payment_reference": "original_trx_id",
    "reason": "reason",
    "amount": "amount",
}


def string_to_sign(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """``METHOD \\n path \\n X-Alfa-Timestamp \\n lowercase hex SHA-256(raw body)``."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{digest}".encode()


def sign(secret: str, message: bytes) -> str:
    """The signature in ``Authorization: ALFA <partner>:<signature>``: base64 HMAC-SHA512."""
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha512).digest()).decode()


StoreTime = Annotated[AwareDatetime, AfterValidator(check_year)]


class _Message(BaseModel):
    """An Alfamart message: its own field names, nothing else, JSON types as they are."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Registration(_Message):
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


class Inquiry(_Message):
    trx_id: str | None = None
    store_code: str | None = None
    payment_code: str = Field(description="The member's payment code, or their NIK, as typed")
    months: int = 1


class Payment(_Message):
    trx_id: str
    store_code: str
    payment_code: str
    months: int
    amount: int
    transacted_at: StoreTime = Field(
        alias="datetime", description="ISO 8601 with an offset: the store's local time"
    )


class Reversal(_Message):
    trx_id: str = Field(description="This reversal's own id; repeats of it reuse it")
    original_trx_id: str = Field(description="trx_id of the payment to take back")
    store_code: str | None = None
    amount: int
    reason: str | None = None


class CheckStatus(_Message):
    trx_id: str
    trx_type: Literal["registration", "payment"]


class AlfamartOptions(ChannelOptions):
    signature_window_s: int = Field(300, gt=0)
    """How far ``X-Alfa-Timestamp`` may be from the hub's clock."""


class AlfamartAdapter(HttpChannelAdapter[AlfamartOptions]):
    """Alfamart's host: registration, inquiry, payment, advice, reversal and status."""

    settlement_reader = AlfamartDailyFile()

    slug = "alfamart"
    title = "Alfamart"
    options_model = AlfamartOptions
    answer_code_field = "response_code"
    answer_statuses: ClassVar[Mapping[int, str]] = {
        400: "missing or invalid field (0201, 0202)",
        401: "unauthorized (0301)",
        403: "forbidden (0302)",
        404: "not found (0101, 0104)",
        409: "already reversed or trx_id reused (0106, 0107)",
        422: "paid, wrong amount, not reversible (0102, 0103, 0105)",
        503: "try again (0901)",
    }

    def __init__(self, context: ChannelContext, options: AlfamartOptions) -> None:
        super().__init__(context, options)
        self.counter = RetailCounter(context.intake, self.slug)

    def router(self) -> APIRouter:
        router = self.http_router()
        prefix = "/alfamart/v1"

        @router.post(
            f"{prefix}/registration",
            summary="Register a BPU member at the counter",
            openapi_extra=body_doc(Registration),
        )
        async def registration(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Registration, body)
            accepted = await self.counter.register(
                partner, _registration_fields(message), _REGISTRATION_NAMES
            )
            return _answer(
                SUCCESS,
                trx_id=accepted.reference,
                ref_no=accepted.hub_reference,
                kpj=accepted.kpj,
                member_payment_code=self._payment_code(accepted.kpj),
            )

        @router.post(
            f"{prefix}/inquiry",
            summary="What a member owes for 1, 3, 6 or 12 months",
            openapi_extra=body_doc(Inquiry),
        )
        async def inquiry(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Inquiry, body)
            bill = await self.counter.inquiry(
                partner, message.payment_code, message.months, _PAYMENT_NAMES
            )
            echo = {} if message.trx_id is None else {"trx_id": message.trx_id}
            return _answer(SUCCESS, **echo, payment_code=message.payment_code, **_bill(bill))

        async def pay(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Payment, body)
            accepted = await self.counter.pay(
                partner,
                message.payment_code,
                {
                    "reference": message.trx_id,
                    "months": message.months,
                    "amount": message.amount,
                    "paid_at": message.transacted_at,
                    "outlet_id": message.store_code,
                },
                _PAYMENT_NAMES,
            )
            return _answer(
                SUCCESS,
                trx_id=accepted.reference,
                ref_no=accepted.hub_reference,
                payment_code=message.payment_code,
                months=message.months,
                amount=message.amount,
            )

        router.add_api_route(
            f"{prefix}/payment",
            pay,
            methods=["POST"],
            summary="Pay a member's contribution",
            openapi_extra=body_doc(Payment),
        )
        router.add_api_route(
            f"{prefix}/advice",
            pay,
            methods=["POST"],
            summary="Advice: repeat a payment whose answer timed out (applied at most once)",
            openapi_extra=body_doc(Payment),
        )

        @router.post(
            f"{prefix}/reversal",
            summary="Take back a payment (same business day)",
            openapi_extra=body_doc(Reversal),
        )
        async def reversal(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Reversal, body)
            fields: dict[str, object] = {
                "reference": message.trx_id,
                "payment_reference": message.original_trx_id,
            }
            if message.reason is not None:
                fields["reason"] = message.reason
            accepted = await self.counter.reverse(partner, fields, message.amount, _REVERSAL_NAMES)
            return _answer(
                SUCCESS,
                trx_id=accepted.reference,
                original_trx_id=message.original_trx_id,
                ref_no=accepted.hub_reference,
            )

        @router.post(
            f"{prefix}/status",
            summary="Status of a registration or payment you sent, and of its reversal",
            openapi_extra=body_doc(CheckStatus),
        )
        async def status(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(CheckStatus, body)
            found = await self.counter.status(
                partner, message.trx_type, message.trx_id, _PAYMENT_NAMES
            )
            return _answer(SUCCESS, trx_type=message.trx_type, **self._status(found))

        return router

    def preflight(self, request: Request) -> Partner:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        partner_id, _, signature = credentials.strip().partition(":")
        if scheme != AUTHORIZATION_SCHEME or not request.headers.get(TIMESTAMP_HEADER):
            raise Unauthenticated(
                f"Authorization: {AUTHORIZATION_SCHEME} <partner>:<signature> "
                f"and {TIMESTAMP_HEADER} are required"
            )
        partner = self.known_partner(partner_id, "partner")
        well_formed(signature, BASE64_SHA512, "Authorization")
        return partner

    def error_response(self, request: Request, error: Exception) -> Response:
        if not isinstance(error, HubError):
            return _answer(SYSTEM_ERROR, detail="unexpected error; it was logged")
        code = next((_CODES[k] for k in type(error).__mro__ if k in _CODES), SYSTEM_ERROR)
        extra: dict[str, Any] = {"detail": error.message}
        if isinstance(error, InvalidRequest):
            if (
                code == "0202"
                and error.problems
                and all(p.kind == "missing" for p in error.problems)
            ):
                code = "0201"
            if error.problems:
                extra["errors"] = [{"field": p.field, "reason": p.reason} for p in error.problems]
        if isinstance(error, AmountMismatch):
            extra["amount_due"] = error.amount_due
        if isinstance(error, ReversalMismatch):
            extra["original_amount"] = error.paid
        response = _answer(code, **extra)
        if isinstance(error, TemporarilyUnavailable):
            response.headers["Retry-After"] = str(error.retry_after_s)
        if isinstance(error, Unauthenticated):
            response.headers["WWW-Authenticate"] = AUTHORIZATION_SCHEME
        return response

    async def _signed(self, request: Request) -> tuple[Partner, bytes]:
        """The partner that signed this request, and its raw body."""
        body = await request.body()
        authorization = request.headers.get("Authorization", "")
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        scheme, _, credentials = authorization.partition(" ")
        partner_id, _, signature = credentials.strip().partition(":")
        if scheme != AUTHORIZATION_SCHEME or not partner_id or not signature or not timestamp:
            raise Unauthenticated(
                f"Authorization: {AUTHORIZATION_SCHEME} <partner>:<signature> "
                f"and {TIMESTAMP_HEADER} are required"
            )
        known = self.context.partner(partner_id)
        if known is None:
            raise Unauthenticated("unknown partner")
        partner, settings = known
        try:
            signed_at = check_year(datetime.fromisoformat(timestamp))
        except ValueError:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} must be ISO 8601 with an offset") from None
        if signed_at.tzinfo is None:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} must be ISO 8601 with an offset")
        check_signed_at(
            signed_at, self.context.clock(), self.options.signature_window_s, TIMESTAMP_HEADER
        )
        message = string_to_sign(request.method, request.url.path, timestamp, body)
        expected = sign(settings.secret.get_secret_value(), message).encode()
        # Bytes, not str: a header with non-ASCII characters is a bad signature, not a crash.
        if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
            raise Unauthenticated("signature does not match")
        return partner, body

    def _payment_code(self, kpj: str | None) -> str | None:
        return None if kpj is None else self.intake.payment_codes.for_kpj(kpj)

    def _status(self, found: TransactionStatus) -> dict[str, Any]:
        claimed = found.request
        answer: dict[str, Any] = {**_transaction(claimed)}
        if claimed.kind == "registration":
            answer["kpj"] = claimed.kpj
            answer["member_payment_code"] = self._payment_code(claimed.kpj)
        else:
            answer["reversal"] = None if found.reversal is None else _transaction(found.reversal)
        return answer


def _transaction(claimed: RequestView) -> dict[str, Any]:
    return {
        "trx_id": claimed.partner_ref,
        "ref_no": claimed.hub_reference,
        "status": _STATUS.get(claimed.status, claimed.status.upper()),
        "reason": claimed.reason,
    }


def _registration_fields(message: Registration) -> dict[str, object]:
    return {
        "reference": message.trx_id,
        "outlet_id": message.store_code,
        "nik": message.nik,
        "full_name": message.name,
        "birth_date": message.birth_date,
        "sex": message.gender,
        "phone": message.phone,
        "address": message.address,
        "occupation": message.occupation,
        "declared_income": message.income,
        "programmes": message.programs,
    }


def _bill(bill: InquiryAnswer) -> dict[str, Any]:
    return {
        "customer_name": bill.masked_name,
        "kpj": bill.kpj,
        "member_payment_code": bill.payment_code,
        "programs": list(bill.programmes),
        "member_status": _MEMBER_STATUS[bill.member_status],
        "paid_through": None if bill.paid_through is None else f"{bill.paid_through:%Y-%m}",
        "months": bill.months,
        "period_from": f"{bill.covers_from:%Y-%m}",
        "period_to": f"{bill.covers_through:%Y-%m}",
        "arrears_months": bill.arrears_months,
        "arrears_from": _month(bill.arrears_from),
        "arrears_to": _month(bill.arrears_through),
        "arrears_amount": bill.arrears_amount,
        "monthly_amount": bill.monthly_amount,
        "amount": bill.amount_due,
    }


def _month(month: date | None) -> str | None:
    return None if month is None else f"{month:%Y-%m}"


def _answer(code: str, **fields: Any) -> JSONResponse:
    status, message = MESSAGES[code]
    return JSONResponse({"response_code": code, "message": message, **fields}, status_code=status)


ADAPTER = AlfamartAdapter
