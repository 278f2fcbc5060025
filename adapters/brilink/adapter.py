"""Agen BRILink: BRI's host-to-host JSON for its neighbourhood agents (docs/channels/brilink.md).

BRI's host signs every request the way BRI's own APIs do (``signing``). Every answer,
refusals included, is BRI's envelope: ``responseCode`` (two digits, "00" approved),
``responseDescription``, and ``data`` or ``errorMessage``/``errorDetails``. The agent's
``journalSeq`` is the idempotency key: the same journal sequence resent after a
timeout is answered as the first time.
"""

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from adapters.brilink.settlement import BrilinkSettlementReport
from adapters.brilink.signing import SCHEME
from adapters.brilink.wire import (
    CODES,
    PREFIX,
    TERMS,
    InquiryMessage,
    PaymentMessage,
    RegistrationMessage,
    ResponseCode,
    ReversalMessage,
    StatusMessage,
    TransactionNotFound,
    one_member,
    response_code,
)
from hub.channels.base import HttpChannelAdapter, SignedOptions
from hub.channels.fields import PartnerTerms, bill_fields
from hub.channels.routes import Operation
from hub.errors import AmountMismatch, HubError, InvalidRequest, NotFound
from hub.intake.model import Acceptance, Partner, RequestView
from hub.intake.parsing import build, parse_json
from hub.intake.ports import RequestKind
from hub.intake.requests import (
    InquiryRequest,
    PaymentRequest,
    RegistrationRequest,
    ReversalRequest,
)

R = TypeVar("R", bound=BaseModel)

BILL_NAMES: dict[str, str] = {
    "member_payment_code": "brivaNo",
    "masked_name": "custName",
    "programmes": "programs",
    "member_status": "memberStatus",
    "paid_through": "paidThrough",
    "monthly_amount": "monthlyAmount",
    "covers_from": "coverFrom",
    "covers_through": "coverThrough",
    "arrears_months": "arrearsMonths",
    "arrears_from": "arrearsFrom",
    "arrears_through": "arrearsThrough",
    "arrears_amount": "arrearsAmount",
    "amount_due": "amount",
}
"""An inquiry's answer fields that BRI names otherwise than the hub."""
ANSWER = PartnerTerms(BILL_NAMES)


class BrilinkAdapter(HttpChannelAdapter[SignedOptions], slug="brilink", title="Agen BRILink"):
    """BRI's host-to-host JSON: registration, inquiry, payment, reversal and status."""

    settlement_reader = BrilinkSettlementReport()
    signature_scheme = SCHEME
    codes = CODES

    def operations(self) -> list[Operation]:
        return [
            Operation(
                f"{PREFIX}/registration",
                self.registration,
                "Submit a BPU registration",
                RegistrationMessage,
            ),
            Operation(
                f"{PREFIX}/registration/status",
                self.registration_status,
                "What became of a registration: recorded with a KPJ, or rejected and why",
                StatusMessage,
            ),
            Operation(
                f"{PREFIX}/inquiry",
                self.inquiry,
                "What a member owes for 1, 3, 6 or 12 months",
                InquiryMessage,
            ),
            Operation(
                f"{PREFIX}/payment",
                self.payment,
                "Pay a member's contribution; resend the same journalSeq after a timeout",
                PaymentMessage,
            ),
            Operation(
                f"{PREFIX}/payment/status",
                self.payment_status,
                "What became of a payment, and of its reversal if any",
                StatusMessage,
            ),
            Operation(
                f"{PREFIX}/reversal",
                self.reversal,
                "Reverse a payment of today's business day",
                ReversalMessage,
            ),
        ]

    async def registration(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        message = parse_json(RegistrationMessage, body)
        accepted = await self.intake.submit_registration(
            partner, _translate(RegistrationRequest, message)
        )
        return _approved({**_accepted(accepted), **self._member_numbers(accepted.kpj)})

    async def registration_status(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        message = parse_json(StatusMessage, body)
        claimed = await self._held(partner, "registration", message.reference)
        return _approved(
            {
                "journalSeq": claimed.reference,
                **_status(claimed),
                **self._member_numbers(claimed.kpj),
            }
        )

    async def inquiry(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        message = parse_json(InquiryMessage, body)
        one_member(message)
        bill = await self.intake.inquiry(
            _translate(InquiryRequest, message), partner, channel=self.slug
        )
        fields = bill_fields(bill)
        fields["member_status"] = bill.member_status.upper()
        return _approved(ANSWER.say(fields))

    async def payment(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        message = parse_json(PaymentMessage, body)
        one_member(message)
        accepted = await self.intake.submit_payment(partner, _translate(PaymentRequest, message))
        return _approved(_accepted(accepted))

    async def payment_status(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        message = parse_json(StatusMessage, body)
        claimed = await self._held(partner, "payment", message.reference)
        reversal = await self.intake.reversal_of(partner, message.reference)
        return _approved(
            {
                "journalSeq": claimed.reference,
                **_status(claimed),
                "reversal": None
                if reversal is None
                else {"journalSeq": reversal.partner_ref, **_status(reversal)},
            }
        )

    async def reversal(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        message = parse_json(ReversalMessage, body)
        try:
            accepted = await self.intake.submit_reversal(
                partner, _translate(ReversalRequest, message)
            )
        except NotFound as exc:
            raise TransactionNotFound(exc.message) from None
        return _approved({**_accepted(accepted), "origJournalSeq": message.payment_reference})

    def error_response(self, request: Request, error: Exception) -> Response:
        code = response_code(error)
        body = CODES.answer(code)
        if isinstance(error, HubError):
            body["errorMessage"] = error.message
        if isinstance(error, InvalidRequest) and error.problems:
            body["errorDetails"] = [
                {"field": p.field, "reason": p.reason} for p in TERMS.problems(error.problems)
            ]
        if isinstance(error, AmountMismatch):
            body["data"] = {"amount": error.amount_due}
        return JSONResponse(body, status_code=CODES.status_of_code(code))

    async def _held(self, partner: Partner, kind: RequestKind, reference: str) -> RequestView:
        try:
            return await self.intake.status(partner, kind, reference)
        except NotFound as exc:
            raise TransactionNotFound(exc.message) from None

    def _member_numbers(self, kpj: str | None) -> dict[str, str | None]:
        """A member's KPJ and the brivaNo an agent keys in to pay for them (once recorded)."""
        code = None if kpj is None else self.intake.payment_codes.for_kpj(kpj)
        return {"kpj": kpj, "brivaNo": code}


def _translate(model: type[R], message: BaseModel) -> R:
    """The intake request a BRILink message stands for; refusals name BRI's fields."""
    try:
        return build(model, message.model_dump(exclude_none=True))
    except InvalidRequest as exc:
        raise TERMS.refusal(exc) from None


def _approved(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(CODES.answer(ResponseCode.APPROVED, data=data))


def _accepted(accepted: Acceptance) -> dict[str, Any]:
    return {
        "journalSeq": accepted.reference,
        "hubReference": accepted.hub_reference,
        "status": accepted.status.upper(),
    }


def _status(claimed: RequestView) -> dict[str, Any]:
    return {
        "hubReference": claimed.hub_reference,
        "status": claimed.status.upper(),
        "reason": claimed.reason,
    }


ADAPTER = BrilinkAdapter
