"""Banks (Mandiri, BCA, BSI, ...) over SNAP BI, Bank Indonesia's national open-API standard.

A bank's mobile and internet banking pays a member's contribution as a *virtual
account* (VA) bill: ``virtualAccountNo`` = ``partnerServiceId`` (the hub's biller id,
8 characters, left-padded with spaces) + ``customerNo`` (the member's 11-digit KPJ or
16-digit NIK). The bank first gets a B2B access token, signed with its RSA key, then
signs every transaction with HMAC-SHA512 over the token and the minified body.

- ``POST /snap/v1.0/access-token/b2b`` (service 73);
- ``POST /snap/v1.0/transfer-va/inquiry`` (service 24): the member's bill;
- ``POST /snap/v1.0/transfer-va/payment`` (service 25): ``paymentRequestId`` is the
  idempotency reference; a retry (or an advice) with the same content is answered as before;
- ``POST /snap/v1.0/bpu/registration`` (service 90, the hub's own, secured the same way).

``responseCode`` = HTTP status + service code + case code (e.g. ``4042512``); the HTTP
status is always its first three digits. See docs/channels/bank.md.
"""

import logging
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from adapters.bank_settlement import SnapVaTransactionReport
from adapters.snap import (
    AccessTokens,
    load_rsa_public_key,
    parse_timestamp,
    token_request_signature_matches,
    transaction_signature_matches,
)
from hub.channels.base import ChannelContext, ChannelOptions, HttpChannelAdapter
from hub.channels.signatures import BASE64_SHA512, well_formed
from hub.errors import (
    AlreadyPaid,
    AmountMismatch,
    FieldProblem,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import InquiryAnswer, Partner, business_day
from hub.intake.parsing import build
from hub.intake.requests import InquiryRequest, PaymentRequest, RegistrationRequest
from hub.membership.coverage import add_months
from hub.settings import PartnerSettings
from schemas.nik import Nik

log = logging.getLogger("hub.channels.bank")

TOKEN_PATH = "/snap/v1.0/access-token/b2b"  # noqa: S105 (a path, not a secret)
INQUIRY_PATH = "/snap/v1.0/transfer-va/inquiry"
PAYMENT_PATH = "/snap/v1.0/transfer-va/payment"
REGISTRATION_PATH = "/snap/v1.0/bpu/registration"

SERVICE_CODES = {TOKEN_PATH: "73", INQUIRY_PATH: "24", PAYMENT_PATH: "25", REGISTRATION_PATH: "90"}
"""SNAP service code per path; 90 is the hub's own (SNAP assigns nothing there)."""

_KPJ_DIGITS = 11
_NIK_DIGITS = 16
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
_SUCCESS_REASON = {"english": "Success", "indonesia": "Sukses"}
_NIK = TypeAdapter(Nik)
_HOME_ZONE = ZoneInfo("Asia/Jakarta")
M = TypeVar("M", bound=BaseModel)

_REGISTRATION_FIELDS = {
    "reference": "partnerReferenceNo",
    "full_name": "fullName",
    "birth_date": "birthDate",
    "phone": "phoneNo",
    "declared_income": "declaredIncome",
}
_VA_FIELDS = {
    "nik": "customerNo",
    "payment_code": "customerNo",
    "months": "additionalInfo.months",
    "reference": "paymentRequestId",
    "amount": "paidAmount",
    "paid_at": "trxDateTime",
}


class BankOptions(ChannelOptions):
    """``[channels.bank]``: the biller id banks put before a customer number, token policy."""

    partner_service_id: Annotated[str, Field(pattern=r"^ {0,7}[0-9A-Za-z]{1,8}$", max_length=8)] = (
        "8866"
    )
    """The hub's biller id at the banks; a partner's ``options.partner_service_id`` overrides."""
    token_ttl_s: Annotated[int, Field(ge=60, le=86_400)] = 900
    signature_window_s: Annotated[int, Field(gt=0)] = 300
    """How far X-TIMESTAMP may be off the hub's clock."""
    token_key: SecretStr | None = None
    """Signs access tokens. Give every hub process the same key (from the environment) so a
    token issued by one is accepted by all; unset, each process makes its own at start."""


class MalformedBody(InvalidRequest):
    """The body is not a JSON object at all (SNAP's "Bad Request")."""


class ExternalIdReused(ReferenceConflict):
    """The partner already used this X-EXTERNAL-ID on this business day."""


class InvalidToken(Unauthenticated):
    """The B2B access token is not the hub's, has expired, or was issued to another bank.

    SNAP BI gives this its own case code (``401xx01`` "Invalid Token (B2B)"): a bank's
    client fetches a new token on it, and only on it.
    """


class _Wire(BaseModel):
    """A SNAP body: camelCase names; fields the hub does not use are ignored, as SNAP allows."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel)


class _Amount(_Wire):
    """SNAP money: ``{"value": "16800.00", "currency": "IDR"}``; rupiah have no cents."""

    value: Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,15})\.00$")]
    currency: Literal["IDR"]

    @property
    def rupiah(self) -> int:
        return int(self.value[:-3])


class _TokenBody(_Wire):
    grant_type: Literal["client_credentials"]


class _BillOptions(_Wire):
    months: int = 1


class _VirtualAccount(_Wire):
    partner_service_id: Annotated[str, StringConstraints(min_length=1, max_length=8)]
    customer_no: Annotated[str, StringConstraints(pattern=r"^ *[0-9]{1,20}$", max_length=20)]
    virtual_account_no: Annotated[str, StringConstraints(min_length=1, max_length=28)]
    additional_info: _BillOptions | None = None

    @property
    def months(self) -> int:
        return 1 if self.additional_info is None else self.additional_info.months


class _InquiryBody(_VirtualAccount):
    inquiry_request_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _PaymentBody(_VirtualAccount):
    payment_request_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    paid_amount: _Amount
    trx_date_time: Annotated[str, StringConstraints(min_length=1, max_length=35)]
    virtual_account_name: Annotated[str, StringConstraints(max_length=255)] | None = None


_Text = Annotated[str, StringConstraints(min_length=1)]


class _RegistrationBody(_Wire):
    """The hub's registration service, in SNAP's style; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    partner_reference_no: _Text
    nik: _Text
    full_name: _Text
    birth_date: _Text
    sex: _Text
    phone_no: _Text
    address: _Text
    occupation: _Text
    declared_income: _Amount
    programmes: list[str]


class BankAdapter(HttpChannelAdapter[BankOptions]):
    slug = "bank"
    settlement_reader = SnapVaTransactionReport()
    title = "Banks (SNAP BI)"
    options_model = BankOptions
    answer_code_field = "responseCode"
    answer_statuses: ClassVar[Mapping[int, str]] = {
        400: "invalid or missing field (400xx01, 400xx02)",
        401: "unauthorized (401xx00)",
        403: "feature not allowed (403xx01)",
        404: "bill not found, wrong amount, paid, inconsistent (404xx12, 13, 14, 18)",
        409: "X-EXTERNAL-ID reused (409xx00)",
        504: "timeout, try again (504xx00)",
    }

    def __init__(self, context: ChannelContext, options: BankOptions) -> None:
        super().__init__(context, options)
        # A bank without a usable public key could never get a token: refuse to start.
        self._public_keys: dict[str, rsa.RSAPublicKey] = {}
        for partner_id, partner in context.partners.items():
            try:
                self._public_keys[partner_id] = load_rsa_public_key(partner.public_key or "")
            except ValueError as exc:
                raise ValueError(f"bank partner {partner_id!r}: public_key: {exc}") from None
        if options.token_key is None:
            log.info("no [channels.bank] token_key: access tokens are valid in this process only")
            key = secrets.token_bytes(32)
        else:
            key = options.token_key.get_secret_value().encode()
        self._tokens = AccessTokens(key, options.token_ttl_s)

    def router(self) -> APIRouter:
        router = self.http_router()
        router.add_api_route(
            TOKEN_PATH, self.access_token, methods=["POST"], summary="SNAP B2B access token"
        )
        router.add_api_route(
            INQUIRY_PATH, self.inquiry, methods=["POST"], summary="SNAP virtual-account inquiry"
        )
        router.add_api_route(
            PAYMENT_PATH, self.payment, methods=["POST"], summary="SNAP virtual-account payment"
        )
        router.add_api_route(
            REGISTRATION_PATH, self.registration, methods=["POST"], summary="BPU registration"
        )
        return router

    async def access_token(self, request: Request) -> Response:
        """Service 73: a bearer token for a bank that signed ``client_key|X-TIMESTAMP``."""
        headers = request.headers
        client_key = _header(headers, "X-CLIENT-KEY")
        timestamp = _header(headers, "X-TIMESTAMP")
        signature = _header(headers, "X-SIGNATURE")
        sent_at = _timestamp(timestamp)
        public_key = self._public_keys.get(client_key)
        if public_key is None:
            raise Unauthenticated("Unknown client")
        now = self.context.clock()
        self._check_window(sent_at, now)
        if not token_request_signature_matches(public_key, client_key, timestamp, signature):
            raise Unauthenticated("Invalid signature")
        _parse(_TokenBody, await request.body())
        return self._answer(
            TOKEN_PATH,
            {
                "accessToken": self._tokens.issue(client_key, now),
                "tokenType": "Bearer",
                "expiresIn": str(self._tokens.ttl_s),
            },
        )

    async def inquiry(self, request: Request) -> Response:
        """Service 24: what the member owes, as a closed-amount VA bill with one line a month."""
        body = await request.body()
        partner, settings = await self._authenticate(request, body)
        wire = _parse(_InquiryBody, body)
        member = self._member(settings, wire)
        with _named_as(_VA_FIELDS):
            answer = await self.intake.inquiry(
                build(InquiryRequest, {**member, "months": wire.months}), partner, channel=self.slug
            )
        return self._answer(
            INQUIRY_PATH,
            {
                "virtualAccountData": {
                    "inquiryStatus": "00",
                    "inquiryReason": _SUCCESS_REASON,
                    "partnerServiceId": wire.partner_service_id,
                    "customerNo": wire.customer_no,
                    "virtualAccountNo": wire.virtual_account_no,
                    "virtualAccountName": answer.masked_name,
                    "inquiryRequestId": wire.inquiry_request_id,
                    "totalAmount": _amount(answer.amount_due),
                    "billDetails": _bill_details(answer),
                    "virtualAccountTrxType": "C",
                    "additionalInfo": {
                        "months": answer.months,
                        "coversFrom": f"{answer.covers_from:%Y-%m}",
                        "coversThrough": f"{answer.covers_through:%Y-%m}",
                        "arrearsMonths": answer.arrears_months,
                        "arrearsFrom": _month(answer.arrears_from),
                        "arrearsThrough": _month(answer.arrears_through),
                        "memberStatus": answer.member_status,
                        "programmes": list(answer.programmes),
                    },
                }
            },
        )

    async def payment(self, request: Request) -> Response:
        """Service 25: the bank debited its customer; record the contribution once."""
        body = await request.body()
        partner, settings = await self._authenticate(request, body)
        wire = _parse(_PaymentBody, body)
        member = self._member(settings, wire)
        with _named_as(_VA_FIELDS):
            payment = build(
                PaymentRequest,
                {
                    **member,
                    "reference": wire.payment_request_id,
                    "months": wire.months,
                    "amount": wire.paid_amount.rupiah,
                    "paid_at": wire.trx_date_time,
                },
            )
            accepted = await self.intake.submit_payment(partner, payment)
        paid = {"value": wire.paid_amount.value, "currency": wire.paid_amount.currency}
        data: dict[str, Any] = {
            "paymentFlagReason": _SUCCESS_REASON,
            "partnerServiceId": wire.partner_service_id,
            "customerNo": wire.customer_no,
            "virtualAccountNo": wire.virtual_account_no,
        }
        if wire.virtual_account_name is not None:
            data["virtualAccountName"] = wire.virtual_account_name
        data.update(
            {
                "paymentRequestId": wire.payment_request_id,
                "paidAmount": paid,
                "totalAmount": paid,
                "trxDateTime": wire.trx_date_time,
                "referenceNo": accepted.hub_reference,
                "paymentFlagStatus": "00",
            }
        )
        return self._answer(PAYMENT_PATH, {"virtualAccountData": data})

    async def registration(self, request: Request) -> Response:
        """Service 90: a BPU registration taken at a branch or in the bank's app."""
        body = await request.body()
        partner, _ = await self._authenticate(request, body)
        wire = _parse(_RegistrationBody, body)
        with _named_as(_REGISTRATION_FIELDS):
            registration = build(
                RegistrationRequest,
                {
                    "reference": wire.partner_reference_no,
                    "nik": wire.nik,
                    "full_name": wire.full_name,
                    "birth_date": wire.birth_date,
                    "sex": wire.sex,
                    "phone": wire.phone_no,
                    "address": wire.address,
                    "occupation": wire.occupation,
                    "declared_income": wire.declared_income.rupiah,
                    "programmes": wire.programmes,
                },
            )
            accepted = await self.intake.submit_registration(partner, registration)
        answer: dict[str, Any] = {
            "partnerReferenceNo": accepted.reference,
            "referenceNo": accepted.hub_reference,
        }
        if accepted.kpj is not None:
            answer["additionalInfo"] = {"kpj": accepted.kpj}
        return self._answer(REGISTRATION_PATH, answer)

    def preflight(self, request: Request) -> Partner:
        headers = request.headers
        if _route_path(request) == TOKEN_PATH:
            client_key = _header(headers, "X-CLIENT-KEY")
            if client_key not in self._public_keys:
                raise Unauthenticated("Unknown client")
            well_formed(_header(headers, "X-SIGNATURE"), _BASE64, "X-SIGNATURE")
            return self.known_partner(client_key, "X-CLIENT-KEY")
        partner_id = _header(headers, "X-PARTNER-ID")
        signature = _header(headers, "X-SIGNATURE")
        if self.context.partner(partner_id) is None:
            raise Unauthenticated("Unknown partner")
        if not BASE64_SHA512.fullmatch(signature):
            raise Unauthenticated("Invalid signature")
        return self.known_partner(partner_id, "X-PARTNER-ID")

    def error_response(self, request: Request, error: Exception) -> Response:
        path = _route_path(request)
        status, case, message = _refusal(error)
        headers = {"X-TIMESTAMP": _snap_time(self.context.clock())}
        if isinstance(error, TemporarilyUnavailable):
            headers["Retry-After"] = str(error.retry_after_s)
        return JSONResponse(
            {
                "responseCode": f"{status}{SERVICE_CODES.get(path, '00')}{case}",
                "responseMessage": message,
            },
            status_code=status,
            headers=headers,
        )

    async def _authenticate(self, request: Request, body: bytes) -> tuple[Partner, PartnerSettings]:
        """Check a transaction's headers, token and HMAC, then claim its X-EXTERNAL-ID.

        Absent headers are field errors (400); present but wrong ones are 401. The
        external id is claimed only once the request is known to be the partner's, so
        nobody else can burn the partner's ids.
        """
        headers = request.headers
        authorization = _header(headers, "Authorization")
        timestamp = _header(headers, "X-TIMESTAMP")
        signature = _header(headers, "X-SIGNATURE")
        partner_id = _header(headers, "X-PARTNER-ID")
        external_id = _header(headers, "X-EXTERNAL-ID")
        channel_id = _header(headers, "CHANNEL-ID")
        sent_at = _timestamp(timestamp)
        if len(external_id) > 36 or not external_id.isascii() or not external_id.isprintable():
            raise InvalidRequest("bad X-EXTERNAL-ID", [FieldProblem("X-EXTERNAL-ID", "format")])
        if len(channel_id) > 5 or not channel_id.isascii() or not channel_id.isalnum():
            raise InvalidRequest("bad CHANNEL-ID", [FieldProblem("CHANNEL-ID", "format")])
        found = self.context.partner(partner_id)
        if found is None:
            raise Unauthenticated("Unknown partner")
        partner, settings = found
        now = self.context.clock()
        self._check_window(sent_at, now)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or self._tokens.client_key_of(token.strip(), now) != (
            partner_id
        ):
            raise InvalidToken("Invalid Token (B2B)")
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not transaction_signature_matches(
            settings.secret.get_secret_value(),
            request.method,
            path,
            token.strip(),
            body,
            timestamp,
            signature,
        ):
            raise Unauthenticated("Invalid signature")
        if not await self.context.nonces.first_use(
            partner_id, business_day(partner, now), external_id
        ):
            raise ExternalIdReused(f"X-EXTERNAL-ID {external_id!r} was already used today")
        return partner, settings

    def _check_window(self, sent_at: datetime, now: datetime) -> None:
        if abs((now - sent_at).total_seconds()) > self.options.signature_window_s:
            raise Unauthenticated("X-TIMESTAMP out of range")

    def _member(self, settings: PartnerSettings, wire: _VirtualAccount) -> dict[str, str]:
        """Who a VA names: customerNo is the member's KPJ (11 digits) or NIK (16 digits).

        A number a customer typed that is no member's is "bill not found", never a
        format error: the bank cannot know the hub's numbering.
        """
        service_id = settings.options.get("partner_service_id", self.options.partner_service_id)
        customer_no = wire.customer_no.strip()
        if wire.virtual_account_no.strip() != wire.partner_service_id.strip() + customer_no:
            raise InvalidRequest(
                "virtualAccountNo is not partnerServiceId + customerNo",
                [FieldProblem("virtualAccountNo", "must be partnerServiceId + customerNo")],
            )
        if wire.partner_service_id.strip() != service_id.strip():
            raise NotFound(f"partnerServiceId {wire.partner_service_id!r} is not ours")
        if len(customer_no) == _KPJ_DIGITS:
            return {"payment_code": self.intake.payment_codes.for_kpj(customer_no)}
        if len(customer_no) == _NIK_DIGITS:
            try:
                return {"nik": _NIK.validate_python(customer_no)}
            except ValidationError:
                pass
        raise NotFound(f"customerNo {customer_no!r} is neither a KPJ nor a NIK")

    def _answer(self, path: str, fields: dict[str, Any]) -> JSONResponse:
        return JSONResponse(
            {
                "responseCode": f"200{SERVICE_CODES[path]}00",
                "responseMessage": "Successful",
                **fields,
            },
            headers={"X-TIMESTAMP": _snap_time(self.context.clock())},
        )


_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise InvalidRequest(f"{name} is required", [FieldProblem(name, "required", "missing")])
    return value


def _timestamp(value: str) -> datetime:
    sent_at = parse_timestamp(value)
    if sent_at is None:
        raise InvalidRequest(
            "X-TIMESTAMP is not ISO 8601 with an offset",
            [FieldProblem("X-TIMESTAMP", "not ISO 8601 with an offset")],
        )
    return sent_at


def _parse(model: type[M], body: bytes) -> M:
    """A wire body, or the refusal SNAP expects: Bad Request, missing or invalid field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] in ("json_invalid", "model_type") and not e["loc"] for e in errors):
            raise MalformedBody("the body is not a JSON object") from None
        problems = [
            FieldProblem(
                ".".join(str(part) for part in e["loc"]) or "body",
                e["msg"],
                # An empty mandatory string is as absent as a missing one.
                "missing" if e["type"] == "missing" or e.get("input") == "" else "invalid",
            )
            for e in errors
        ]
        raise InvalidRequest("invalid SNAP body", problems) from None


def _refusal(error: Exception) -> tuple[int, str, str]:
    """HTTP status, SNAP case code and responseMessage for an error."""
    if isinstance(error, MalformedBody):
        return 400, "00", "Bad Request"
    if isinstance(error, PayloadTooLarge):
        return 413, "00", "Request Entity Too Large"
    if isinstance(error, AmountMismatch):
        return 404, "13", "Invalid Amount"
    if isinstance(error, AlreadyPaid):
        return 404, "14", "Paid Bill"
    if isinstance(error, InvalidRequest):
        problems = error.problems
        problem = next((p for p in problems if p.kind == "missing"), None) or (
            problems[0] if problems else None
        )
        if problem is None:
            return 400, "00", "Bad Request"
        name = problem.field
        if problem.kind == "missing":
            return 400, "02", f"Invalid Mandatory Field {{{name}}}"
        return 400, "01", "Invalid Field Format" + ("" if name == "body" else f" {{{name}}}")
    if isinstance(error, InvalidToken):
        return 401, "01", "Invalid Token (B2B)"
    if isinstance(error, Unauthenticated):
        return 401, "00", f"Unauthorized. [{error.message}]"
    if isinstance(error, Forbidden):
        return 403, "01", "Feature Not Allowed"
    if isinstance(error, NotFound):
        return 404, "12", "Invalid Bill/Virtual Account [Not Found]"
    if isinstance(error, ExternalIdReused):
        return 409, "00", "Conflict"
    if isinstance(error, ReferenceConflict):
        return 404, "18", "Inconsistent Request"
    if isinstance(error, RateLimited):
        return 429, "00", "Too Many Requests"
    if isinstance(error, TemporarilyUnavailable):
        return 504, "00", "Timeout"
    return 500, "00", "General Error"


@contextmanager
def _named_as(fields: Mapping[str, str]) -> Iterator[None]:
    """Intake names fields in the hub's words; the bank hears its own in a refusal."""
    try:
        yield
    except InvalidRequest as exc:
        exc.problems = [replace(p, field=_wire_name(p.field, fields)) for p in exc.problems]
        raise


def _wire_name(field: str, fields: Mapping[str, str]) -> str:
    head, dot, rest = field.partition(".")
    return fields.get(head, head) + dot + rest


def _route_path(request: Request) -> str:
    path = request.url.path
    return next((p for p in SERVICE_CODES if path.endswith(p)), path)


def _month(month: date | None) -> str | None:
    return None if month is None else f"{month:%Y-%m}"


def _amount(rupiah: int) -> dict[str, str]:
    return {"value": f"{rupiah}.00", "currency": "IDR"}


def _bill_details(answer: InquiryAnswer) -> list[dict[str, Any]]:
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
                "billAmount": _amount(answer.monthly_amount),
            }
        )
    return details


def _snap_time(moment: datetime) -> str:
    """SNAP's timestamp style, in the hub's home zone (WIB)."""
    return moment.astimezone(_HOME_ZONE).isoformat(timespec="seconds")


ADAPTER = BankAdapter
