"""Agen BRILink: BRI's host-to-host JSON for its neighbourhood agents (docs/channels/brilink.md).

BRI's host signs every request the way BRI's own APIs do: ``BRI-Timestamp`` (ISO 8601)
and ``BRI-Signature``, a base64 HMAC-SHA256 over the path, the verb, the client id,
the timestamp and the raw body. Every answer, refusals included, is BRI's envelope:
``responseCode`` (two digits, "00" approved), ``responseDescription``, and ``data``
or ``errorMessage``/``errorDetails``. The agent's ``journalSeq`` is the idempotency
key: the same journal sequence resent after a timeout is answered as the first time.
"""

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from adapters.brilink_settlement import BrilinkSettlementReport
from hub.channels.base import ChannelOptions, HttpChannelAdapter
from hub.channels.signatures import BASE64_SHA256, well_formed
from hub.errors import (
    AlreadyPaid,
    AlreadyReversed,
    AmountMismatch,
    FieldProblem,
    Forbidden,
    HubError,
    InvalidRequest,
    NotFound,
    NotReversible,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import Partner, RequestView
from hub.intake.parsing import build, parse_json
from hub.intake.ports import RequestKind
from hub.intake.requests import (
    InquiryRequest,
    PaymentRequest,
    RegistrationRequest,
    ReversalRequest,
)

log = logging.getLogger("hub.channels.brilink")

PREFIX = "/brilink/v1"
CLIENT_ID_HEADER = "BRI-Client-Id"
TIMESTAMP_HEADER = "BRI-Timestamp"
SIGNATURE_HEADER = "BRI-Signature"


class BrilinkOptions(ChannelOptions):
    """``[channels.brilink]``."""

    signature_window_s: int = Field(300, gt=0)
    """How far ``BRI-Timestamp`` may be from the hub's clock, either way, in seconds."""


def string_to_sign(path: str, verb: str, client_id: str, timestamp: str, body: bytes) -> bytes:
    """What BRI's host signs: ``path=..&verb=..&clientId=..&timestamp=..&body=<raw body>``."""
    head = f"path={path}&verb={verb.upper()}&clientId={client_id}&timestamp={timestamp}&body="
    return head.encode() + body


def sign(secret: str, path: str, verb: str, client_id: str, timestamp: str, body: bytes) -> str:
    """The ``BRI-Signature`` of a request: base64 of HMAC-SHA256(secret, string to sign)."""
    mac = hmac.new(
        secret.encode(), string_to_sign(path, verb, client_id, timestamp, body), hashlib.sha256
    )
    return base64.b64encode(mac.digest()).decode()


class ResponseCode(StrEnum):
    """BRILink response codes; ISO 8583 meanings where the host-to-host world has one."""

    APPROVED = "00"
    NOT_REVERSIBLE = "12"
    INVALID_AMOUNT = "13"
    BILL_NOT_FOUND = "14"
    TRANSACTION_NOT_FOUND = "25"
    INVALID_FORMAT = "30"
    MISSING_FIELD = "31"
    UNAUTHORISED = "63"
    BILL_ALREADY_PAID = "88"
    TEMPORARILY_UNAVAILABLE = "91"
    DUPLICATE_JOURNAL_SEQ = "94"
    ALREADY_REVERSED = "95"
    GENERAL_ERROR = "96"


DESCRIPTION: Mapping[ResponseCode, str] = {
    ResponseCode.APPROVED: "Approved",
    ResponseCode.NOT_REVERSIBLE: "Transaction cannot be reversed",
    ResponseCode.INVALID_AMOUNT: "Invalid amount",
    ResponseCode.BILL_NOT_FOUND: "Bill not found",
    ResponseCode.TRANSACTION_NOT_FOUND: "Original transaction not found",
    ResponseCode.INVALID_FORMAT: "Invalid field format",
    ResponseCode.MISSING_FIELD: "Missing mandatory field",
    ResponseCode.UNAUTHORISED: "Unauthorized",
    ResponseCode.BILL_ALREADY_PAID: "Bill already paid",
    ResponseCode.TEMPORARILY_UNAVAILABLE: "Temporarily unavailable, please retry",
    ResponseCode.DUPLICATE_JOURNAL_SEQ: "Duplicate journalSeq",
    ResponseCode.ALREADY_REVERSED: "Transaction already reversed",
    ResponseCode.GENERAL_ERROR: "General error",
}

HTTP_STATUS: Mapping[ResponseCode, int] = {
    ResponseCode.APPROVED: 200,
    ResponseCode.NOT_REVERSIBLE: 400,
    ResponseCode.INVALID_AMOUNT: 400,
    ResponseCode.BILL_NOT_FOUND: 404,
    ResponseCode.TRANSACTION_NOT_FOUND: 404,
    ResponseCode.INVALID_FORMAT: 400,
    ResponseCode.MISSING_FIELD: 400,
    ResponseCode.UNAUTHORISED: 401,
    ResponseCode.BILL_ALREADY_PAID: 400,
    ResponseCode.TEMPORARILY_UNAVAILABLE: 503,
    ResponseCode.DUPLICATE_JOURNAL_SEQ: 409,
    ResponseCode.ALREADY_REVERSED: 409,
    ResponseCode.GENERAL_ERROR: 500,
}


class TransactionNotFound(NotFound):
    """The journalSeq a reversal or a status call names was never accepted from this agent.

    Told apart from an unknown bill: after its own timeout, an agent reads "25" on a
    reversal as "nothing was taken, nothing to undo".
    """


class _Wire(BaseModel):
    """A BRILink message: BRI's names on the wire (aliases, the only names accepted).

    The Python field names are intake's own, so a message dumps straight into an intake
    request and a refusal intake finds can be told back in BRI's names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


JournalSeq = Annotated[StrictStr, Field(alias="journalSeq", description="The agent's reference")]


class RegistrationMessage(_Wire):
    """``POST /brilink/v1/registration``: a BPU registration form an agent collected."""

    reference: JournalSeq
    nik: StrictStr
    full_name: StrictStr = Field(alias="fullName")
    birth_date: StrictStr = Field(alias="birthDate", description="YYYY-MM-DD")
    sex: StrictStr = Field(alias="gender", description="M or F")
    phone: StrictStr = Field(alias="phoneNo")
    address: StrictStr
    occupation: StrictStr
    declared_income: StrictInt = Field(alias="declaredIncome", description="Whole rupiah")
    programmes: list[StrictStr] = Field(alias="programs", description="JKK, JKM and maybe JHT")
    outlet_id: StrictStr | None = Field(None, alias="agentId")


class InquiryMessage(_Wire):
    """``POST /brilink/v1/inquiry``: what a member owes, by NIK or BRIVA-style number."""

    nik: StrictStr | None = None
    payment_code: StrictStr | None = Field(None, alias="brivaNo", description="8866 + KPJ")
    months: StrictInt


class PaymentMessage(_Wire):
    """``POST /brilink/v1/payment``: a contribution an agent took in cash."""

    reference: JournalSeq
    nik: StrictStr | None = None
    payment_code: StrictStr | None = Field(None, alias="brivaNo", description="8866 + KPJ")
    months: StrictInt
    amount: StrictInt
    paid_at: StrictStr = Field(alias="transactionDateTime", description="ISO 8601 with offset")
    outlet_id: StrictStr | None = Field(None, alias="agentId")


class ReversalMessage(_Wire):
    """``POST /brilink/v1/reversal``: take back a payment (the agent's timeout fired, or a void)."""

    reference: JournalSeq
    payment_reference: StrictStr = Field(alias="origJournalSeq")
    reason: StrictStr | None = Field(None, alias="remark")


class StatusMessage(_Wire):
    """``POST /brilink/v1/{payment,registration}/status``: what became of a journalSeq."""

    reference: JournalSeq


WIRE_NAME: Mapping[str, str] = {
    name: field.alias
    for message in (RegistrationMessage, InquiryMessage, PaymentMessage, ReversalMessage)
    for name, field in message.model_fields.items()
    if field.alias is not None
}
"""Intake's field names -> BRI's, for refusals that intake itself finds."""

R = TypeVar("R", bound=BaseModel)


def _wire_field(field: str) -> str:
    head, dot, rest = field.partition(".")
    return WIRE_NAME.get(head, head) + dot + rest


def _in_wire_names(problems: list[FieldProblem]) -> list[FieldProblem]:
    return [FieldProblem(_wire_field(p.field), p.reason, p.kind) for p in problems]


def _translate(model: type[R], message: _Wire) -> R:
    """The intake request a BRILink message stands for; refusals name BRI's fields."""
    try:
        return build(model, message.model_dump(exclude_none=True))
    except InvalidRequest as exc:
        problems = _in_wire_names(exc.problems)
        summary = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
        raise InvalidRequest(f"invalid request: {summary}", problems) from None


def _one_member(message: InquiryMessage | PaymentMessage) -> None:
    """A member is named by NIK or by brivaNo, and BRI tells a missing field apart."""
    if message.nik is None and message.payment_code is None:
        raise InvalidRequest(
            "nik or brivaNo is required",
            [FieldProblem("nik", "give nik or brivaNo", "missing")],
        )
    if message.nik is not None and message.payment_code is not None:
        raise InvalidRequest(
            "give either nik or brivaNo, not both",
            [FieldProblem("brivaNo", "give either nik or brivaNo, not both")],
        )


def response_code(error: Exception) -> ResponseCode:
    """BRI's code for an error; subclasses before the classes they refine."""
    match error:
        case TransactionNotFound():
            return ResponseCode.TRANSACTION_NOT_FOUND
        case NotFound():
            return ResponseCode.BILL_NOT_FOUND
        case AlreadyReversed():
            return ResponseCode.ALREADY_REVERSED
        case ReferenceConflict():
            return ResponseCode.DUPLICATE_JOURNAL_SEQ
        case AmountMismatch():
            return ResponseCode.INVALID_AMOUNT
        case AlreadyPaid():
            return ResponseCode.BILL_ALREADY_PAID
        case NotReversible():
            return ResponseCode.NOT_REVERSIBLE
        case InvalidRequest(problems=problems):
            if any(p.kind == "missing" for p in problems):
                return ResponseCode.MISSING_FIELD
            return ResponseCode.INVALID_FORMAT
        case Unauthenticated() | Forbidden():
            return ResponseCode.UNAUTHORISED
        case TemporarilyUnavailable():
            return ResponseCode.TEMPORARILY_UNAVAILABLE
        case _:
            return ResponseCode.GENERAL_ERROR


def _approved(data: dict[str, Any]) -> JSONResponse:
    code = ResponseCode.APPROVED
    return JSONResponse(
        {"responseCode": code.value, "responseDescription": DESCRIPTION[code], "data": data}
    )


def _month(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y-%m}"


def _status(claimed: RequestView) -> dict[str, Any]:
    return {
        "hubReference": claimed.hub_reference,
        "status": claimed.status.upper(),
        "reason": claimed.reason,
    }


def _body_doc(message: type[_Wire]) -> dict[str, Any]:
    """OpenAPI for a body the route reads raw (it must, to check the signature)."""
    schema = message.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class BrilinkAdapter(HttpChannelAdapter[BrilinkOptions]):
    """BRI's host-to-host JSON: registration, inquiry, payment, reversal and status."""

    settlement_reader = BrilinkSettlementReport()

    slug = "brilink"
    title = "Agen BRILink"
    options_model = BrilinkOptions
    answer_code_field = "responseCode"
    answer_statuses: ClassVar[Mapping[int, str]] = {
        400: "invalid or missing field, amount, not reversible",
        401: "unauthorised (63)",
        404: "bill or transaction not found",
        409: "journalSeq reused, already reversed",
        503: "temporarily unavailable (91)",
    }

    def router(self) -> APIRouter:
        router = self.http_router()
        intake = self.intake

        @router.post(
            f"{PREFIX}/registration",
            summary="Submit a BPU registration",
            openapi_extra=_body_doc(RegistrationMessage),
        )
        async def registration(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(RegistrationMessage, body)
            accepted = await intake.submit_registration(
                partner, _translate(RegistrationRequest, message)
            )
            return _approved(
                {
                    "journalSeq": accepted.reference,
                    "hubReference": accepted.hub_reference,
                    "status": accepted.status.upper(),
                    **self._member_numbers(accepted.kpj),
                }
            )

        @router.post(
            f"{PREFIX}/registration/status",
            summary="What became of a registration: recorded with a KPJ, or rejected and why",
            openapi_extra=_body_doc(StatusMessage),
        )
        async def registration_status(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(StatusMessage, body)
            claimed = await self._held(partner, "registration", message.reference)
            return _approved(
                {
                    "journalSeq": claimed.reference,
                    **_status(claimed),
                    **self._member_numbers(claimed.kpj),
                }
            )

        @router.post(
            f"{PREFIX}/inquiry",
            summary="What a member owes for 1, 3, 6 or 12 months",
            openapi_extra=_body_doc(InquiryMessage),
        )
        async def inquiry(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(InquiryMessage, body)
            _one_member(message)
            bill = await intake.inquiry(
                _translate(InquiryRequest, message), partner, channel=self.slug
            )
            return _approved(
                {
                    "nik": bill.nik,
                    **self._member_numbers(bill.kpj),
                    "custName": bill.masked_name,
                    "programs": list(bill.programmes),
                    "memberStatus": bill.member_status.upper(),
                    "paidThrough": _month(bill.paid_through),
                    "months": bill.months,
                    "monthlyAmount": bill.monthly_amount,
                    "coverFrom": _month(bill.covers_from),
                    "coverThrough": _month(bill.covers_through),
                    "arrearsMonths": bill.arrears_months,
                    "arrearsFrom": _month(bill.arrears_from),
                    "arrearsThrough": _month(bill.arrears_through),
                    "arrearsAmount": bill.arrears_amount,
                    "amount": bill.amount_due,
                }
            )

        @router.post(
            f"{PREFIX}/payment",
            summary="Pay a member's contribution; resend the same journalSeq after a timeout",
            openapi_extra=_body_doc(PaymentMessage),
        )
        async def payment(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(PaymentMessage, body)
            _one_member(message)
            accepted = await intake.submit_payment(partner, _translate(PaymentRequest, message))
            return _approved(
                {
                    "journalSeq": accepted.reference,
                    "hubReference": accepted.hub_reference,
                    "status": accepted.status.upper(),
                }
            )

        @router.post(
            f"{PREFIX}/payment/status",
            summary="What became of a payment, and of its reversal if any",
            openapi_extra=_body_doc(StatusMessage),
        )
        async def payment_status(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(StatusMessage, body)
            claimed = await self._held(partner, "payment", message.reference)
            reversal = await intake.reversal_of(partner, message.reference)
            return _approved(
                {
                    "journalSeq": claimed.reference,
                    **_status(claimed),
                    "reversal": None
                    if reversal is None
                    else {
                        "journalSeq": reversal.partner_ref,
                        **_status(reversal),
                    },
                }
            )

        @router.post(
            f"{PREFIX}/reversal",
            summary="Reverse a payment of today's business day",
            openapi_extra=_body_doc(ReversalMessage),
        )
        async def reversal(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(ReversalMessage, body)
            try:
                accepted = await intake.submit_reversal(
                    partner, _translate(ReversalRequest, message)
                )
            except NotFound as exc:
                raise TransactionNotFound(exc.message) from None
            return _approved(
                {
                    "journalSeq": accepted.reference,
                    "origJournalSeq": message.payment_reference,
                    "hubReference": accepted.hub_reference,
                    "status": accepted.status.upper(),
                }
            )

        return router

    def preflight(self, request: Request) -> Partner:
        headers = request.headers
        if not headers.get(CLIENT_ID_HEADER) or not headers.get(TIMESTAMP_HEADER):
            raise Unauthenticated(
                f"{CLIENT_ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
            )
        partner = self.known_partner(headers.get(CLIENT_ID_HEADER), CLIENT_ID_HEADER)
        well_formed(headers.get(SIGNATURE_HEADER), BASE64_SHA256, SIGNATURE_HEADER)
        return partner

    def error_response(self, request: Request, error: Exception) -> Response:
        code = response_code(error)
        body: dict[str, Any] = {
            "responseCode": code.value,
            "responseDescription": DESCRIPTION[code],
        }
        headers: dict[str, str] = {}
        if isinstance(error, HubError):
            body["errorMessage"] = error.message
        if isinstance(error, InvalidRequest) and error.problems:
            body["errorDetails"] = [
                {"field": p.field, "reason": p.reason} for p in _in_wire_names(error.problems)
            ]
        if isinstance(error, AmountMismatch):
            body["data"] = {"amount": error.amount_due}
        if isinstance(error, TemporarilyUnavailable):
            headers["Retry-After"] = str(error.retry_after_s)
        return JSONResponse(body, status_code=HTTP_STATUS[code], headers=headers)

    async def _signed(self, request: Request) -> tuple[Partner, bytes]:
        """The agent's bank host, if its signature is good and its timestamp is fresh."""
        body = await request.body()
        client_id = request.headers.get(CLIENT_ID_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        given = request.headers.get(SIGNATURE_HEADER)
        if not client_id or not timestamp or not given:
            raise Unauthenticated(
                f"{CLIENT_ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
            )
        known = self.context.partner(client_id)
        if known is None:
            raise Unauthenticated(f"unknown {CLIENT_ID_HEADER}")
        partner, settings = known
        sent_at = _timestamp(timestamp)
        window = self.options.signature_window_s
        # A captured request replayed later is refused; within the window a replay is only
        # a retry, which journalSeq idempotency answers without doing anything twice.
        if abs((self.context.clock() - sent_at).total_seconds()) > window:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} is more than {window} s off the hub's clock")
        expected = sign(
            settings.secret.get_secret_value(),
            request.url.path,
            request.method,
            client_id,
            timestamp,
            body,
        )
        # Bytes, not str: a header with non-ASCII characters is a bad signature, not a crash.
        if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
            raise Unauthenticated(f"{SIGNATURE_HEADER} does not match")
        return partner, body

    async def _held(self, partner: Partner, kind: RequestKind, reference: str) -> RequestView:
        try:
            return await self.intake.status(partner, kind, reference)
        except NotFound as exc:
            raise TransactionNotFound(exc.message) from None

    def _member_numbers(self, kpj: str | None) -> dict[str, str | None]:
        """A member's KPJ and the brivaNo an agent keys in to pay for them (once recorded)."""
        code = None if kpj is None else self.intake.payment_codes.for_kpj(kpj)
        return {"kpj": kpj, "brivaNo": code}


def _timestamp(value: str) -> datetime:
    """``BRI-Timestamp``: ISO 8601 with a zone, e.g. ``2026-03-10T02:00:00.000Z``."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Unauthenticated(f"{TIMESTAMP_HEADER} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise Unauthenticated(f"{TIMESTAMP_HEADER} must carry its zone (Z or +07:00)")
    return parsed


ADAPTER = BrilinkAdapter
