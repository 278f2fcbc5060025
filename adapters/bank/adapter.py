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

import re
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, SecretStr, TypeAdapter, ValidationError

from adapters.bank.bills import SUCCESS_REASON, inquiry_data
from adapters.bank.codes import CODES, ExternalIdReused, InvalidToken, refusal
from adapters.bank.settlement import SnapVaTransactionReport
from adapters.bank.signing import SCHEME, access_token
from adapters.bank.tokens import TokenDesk
from adapters.bank.wire import (
    INQUIRY_PATH,
    PAYMENT_PATH,
    REGISTRATION_PATH,
    REGISTRATION_TERMS,
    SERVICE_CODES,
    TOKEN_PATH,
    VA_TERMS,
    InquiryBody,
    PaymentBody,
    RegistrationBody,
    TokenBody,
    VirtualAccount,
    header,
    parse_body,
    snap_timestamp,
)
from hub.channels.base import ChannelContext, HttpChannelAdapter, PartnerOptions, SignedOptions
from hub.channels.routes import Operation
from hub.channels.signatures import Body, well_formed
from hub.errors import (
    FieldProblem,
    InvalidRequest,
    NotFound,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import Partner, business_day
from hub.intake.parsing import build
from hub.intake.requests import InquiryRequest, PaymentRequest, RegistrationRequest
from schemas.nik import Nik

_KPJ_DIGITS = 11
_NIK_DIGITS = 16
_NIK = TypeAdapter(Nik)
_HOME_ZONE = ZoneInfo("Asia/Jakarta")
BodyT = TypeVar("BodyT", bound=BaseModel)


ServiceId = Annotated[str, Field(pattern=r"^ {0,7}[0-9A-Za-z]{1,8}$", max_length=8)]
"""SNAP's ``partnerServiceId``: the biller id, 8 characters, left-padded with spaces."""


class BankOptions(SignedOptions):
    """``[channels.bank]``: the biller id banks put before a customer number, token policy."""

    partner_service_id: ServiceId = "8866"
    """The hub's biller id at the banks; a partner's ``options.partner_service_id`` overrides."""
    token_ttl_s: Annotated[int, Field(ge=60, le=86_400)] = 900
    token_key: SecretStr | None = None
    """Signs access tokens. Give every hub process the same key (from the environment) so a
    token issued by one is accepted by all; unset, each process makes its own at start."""


class BankPartnerOptions(PartnerOptions):
    """``[partners.<id>] options`` of a bank: its own biller id, if it gave the hub another."""

    partner_service_id: ServiceId | None = None


class BankAdapter(HttpChannelAdapter[BankOptions], slug="bank", title="Banks (SNAP BI)"):
    settlement_reader = SnapVaTransactionReport()
    partner_options_model = BankPartnerOptions
    codes = CODES
    signature_scheme = SCHEME

    def __init__(self, context: ChannelContext, options: BankOptions) -> None:
        super().__init__(context, options)
        self._tokens = TokenDesk.for_banks(
            context.partners, options.token_key, options.token_ttl_s, options.signature_window_s
        )

    def operations(self) -> list[Operation]:
        return [
            Operation(TOKEN_PATH, self.access_token, "SNAP B2B access token"),
            Operation(INQUIRY_PATH, self.inquiry, "SNAP virtual-account inquiry"),
            Operation(PAYMENT_PATH, self.payment, "SNAP virtual-account payment"),
            Operation(REGISTRATION_PATH, self.registration, "BPU registration"),
        ]

    async def access_token(self, request: Request) -> Response:
        """Service 73: a bearer token for a bank that signed ``client_key|X-TIMESTAMP``."""
        now = self.context.clock()
        client_key = self._tokens.requester(request.headers, now)
        parse_body(TokenBody, await request.body())
        return self._answer(TOKEN_PATH, self._tokens.grant(client_key, now))

    async def inquiry(self, request: Request) -> Response:
        """Service 24: what the member owes, as a closed-amount VA bill with one line a month."""
        partner, wire = await self._received(request, InquiryBody)
        member = self._member(partner, wire)
        with VA_TERMS.spoken():
            answer = await self.intake.inquiry(
                build(InquiryRequest, {**member, "months": wire.months}), partner, channel=self.slug
            )
        return self._answer(INQUIRY_PATH, {"virtualAccountData": inquiry_data(wire, answer)})

    async def payment(self, request: Request) -> Response:
        """Service 25: the bank debited its customer; record the contribution once."""
        partner, wire = await self._received(request, PaymentBody)
        member = self._member(partner, wire)
        with VA_TERMS.spoken():
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
            "paymentFlagReason": SUCCESS_REASON,
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
        partner, wire = await self._received(request, RegistrationBody)
        with REGISTRATION_TERMS.spoken():
            fields = REGISTRATION_TERMS.heard(wire.model_dump(by_alias=True))
            fields["declared_income"] = wire.declared_income.rupiah
            registration = build(RegistrationRequest, fields)
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
            client_key = header(headers, "X-CLIENT-KEY")
            if not self._tokens.knows(client_key):
                raise Unauthenticated("Unknown client")
            well_formed(header(headers, "X-SIGNATURE"), _BASE64, "X-SIGNATURE")
            return self.known_partner(client_key, "X-CLIENT-KEY")
        return self.verifier.preflight(headers).partner

    def error_response(self, request: Request, error: Exception) -> Response:
        path = _route_path(request)
        status, case, message = refusal(error)
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

    async def _received(self, request: Request, model: type[BodyT]) -> tuple[Partner, BodyT]:
        """A transaction's partner (every check of ``_authenticate``), then its body parsed."""
        body = await request.body()
        partner = await self._authenticate(request, body)
        return partner, parse_body(model, body)

    async def _authenticate(self, request: Request, body: bytes) -> Partner:
        """Check a transaction's headers, token and HMAC, then claim its X-EXTERNAL-ID.

        Absent headers are field errors (400); present but wrong ones are 401. The
        signature is the kit's check (``adapters.bank.signing``), the token is checked
        between the time window and the signature. The external id is claimed only once
        the request is known to be the partner's, so nobody else can burn the partner's ids.
        """
        headers = request.headers
        for name in _TRANSACTION_HEADERS:
            header(headers, name)
        snap_timestamp(header(headers, "X-TIMESTAMP"))
        external_id = header(headers, "X-EXTERNAL-ID")
        channel_id = header(headers, "CHANNEL-ID")
        if len(external_id) > 36 or not external_id.isascii() or not external_id.isprintable():
            raise InvalidRequest("bad X-EXTERNAL-ID", [FieldProblem("X-EXTERNAL-ID", "format")])
        if len(channel_id) > 5 or not channel_id.isascii() or not channel_id.isalnum():
            raise InvalidRequest("bad CHANNEL-ID", [FieldProblem("CHANNEL-ID", "format")])
        claimant = self.verifier.claimant(headers)
        partner, now = claimant.partner, self.context.clock()
        scheme = header(headers, "Authorization").partition(" ")[0]
        token_holder = self._tokens.holder(access_token(headers), now)
        if scheme.lower() != "bearer" or token_holder != partner.partner_id:
            raise InvalidToken("Invalid Token (B2B)")
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.verifier.check(claimant, request.method, path, Body.of(body))
        if not await self.context.nonces.first_use(
            partner.partner_id, business_day(partner, now), external_id
        ):
            raise ExternalIdReused(f"X-EXTERNAL-ID {external_id!r} was already used today")
        return partner

    def _member(self, partner: Partner, wire: VirtualAccount) -> dict[str, str]:
        """Who a VA names: customerNo is the member's KPJ (11 digits) or NIK (16 digits).

        A number a customer typed that is no member's is "bill not found", never a
        format error: the bank cannot know the hub's numbering.
        """
        own = self.partner_options(partner.partner_id, BankPartnerOptions).partner_service_id
        service_id = own or self.options.partner_service_id
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
_TRANSACTION_HEADERS = ("Authorization", "X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID")
"""Checked in this order, so the first one missing is the field the answer names."""


def _route_path(request: Request) -> str:
    path = request.url.path
    return next((p for p in SERVICE_CODES if path.endswith(p)), path)


def _snap_time(moment: datetime) -> str:
    """SNAP's timestamp style, in the hub's home zone (WIB)."""
    return moment.astimezone(_HOME_ZONE).isoformat(timespec="seconds")


ADAPTER = BankAdapter
