"""The switch's ISO 8583 requests answered through intake: echo, inquiry, payment, reversal.

A frame is decoded at once (an unreadable one closes the connection); its answer is
worked out in a task of its own: field 32 names the partner, the partner's rate limit
for the operation is taken, then intake is asked. Every refusal is a field 39 code.
"""

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from adapters.bni46 import iso
from adapters.bni46.iso import ResponseCode
from adapters.bni46.messages import (
    ECHOED,
    REVERSAL_MTIS,
    BillMessage,
    BillRequest,
    NetworkManagement,
    ReversalAdvice,
)
from adapters.bni46.tcp import HangUp
from hub.channels.base import ChannelContext
from hub.channels.codes import CodeTable
from hub.errors import (
    AlreadyPaid,
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
from hub.intake.model import InquiryAnswer, Partner
from hub.intake.parsing import build
from hub.intake.requests import InquiryRequest, PaymentRequest, ReversalRequest
from hub.membership.payment_code import nik_or_payment_code
from hub.store.outage import as_partner_error

log = logging.getLogger("hub.channels.bni46")

OPERATIONS = {iso.INQUIRY: "iso8583-inquiry", iso.PAYMENT: "iso8583-payment"}
"""Rate-limit operation of a 0200 by processing code; reversals are ``iso8583-reversal``."""


SWITCH_CODES = CodeTable(
    {
        AmountMismatch: ResponseCode.WRONG_AMOUNT,
        AlreadyPaid: ResponseCode.ALREADY_PAID,
        NotReversible: ResponseCode.NOT_REVERSIBLE,
        InvalidRequest: ResponseCode.FORMAT_ERROR,
        Unauthenticated: ResponseCode.SECURITY_VIOLATION,
        Forbidden: ResponseCode.SECURITY_VIOLATION,
        NotFound: ResponseCode.UNKNOWN_BILL,
        ReferenceConflict: ResponseCode.DUPLICATE,
        TemporarilyUnavailable: ResponseCode.RETRY,
    },
    ResponseCode.SYSTEM_ERROR,
)
"""Field 39 of a refusal, by error type (the most specific listed class wins)."""


def response_code(error: HubError, mti: str) -> ResponseCode:
    """Field 39 for a refusal: the table, refined by what the error names.

    A format error about the member id alone is an unknown bill (14), about the amount
    alone a wrong amount (13); "not found" in a reversal is the original (25).
    """
    code = SWITCH_CODES.code(error)
    if code is ResponseCode.FORMAT_ERROR and isinstance(error, InvalidRequest):
        named = {p.field for p in error.problems}
        if named and named <= {"nik", "payment_code"}:
            return ResponseCode.UNKNOWN_BILL
        if named == {"amount"}:
            return ResponseCode.WRONG_AMOUNT
    if code is ResponseCode.UNKNOWN_BILL and mti in REVERSAL_MTIS:
        return ResponseCode.ORIGINAL_NOT_FOUND
    return code


class SwitchRequests:
    """Answers the frames of BNI's switch; the TCP server hands it each frame it reads."""

    def __init__(self, slug: str, context: ChannelContext, acquirers: Mapping[str, str]) -> None:
        self._slug = slug
        self._context = context
        self._acquirers = acquirers
        """Field 32 (acquiring institution) -> the partner it names."""

    def __call__(self, frame: bytes, peer: str) -> Callable[[], Awaitable[bytes]]:
        """Decode one frame now; answer it later. A frame no one can answer hangs up."""
        try:
            fields = iso.decode(frame)
            refusal_code: ResponseCode | None = None
        except iso.MalformedMessage as bad:
            if bad.mti not in iso.REQUEST_MTIS:
                raise HangUp(f"unreadable frame ({bad})") from None
            log.warning("%s: malformed %s: %s", peer, bad.mti, bad)
            fields = {**bad.fields, "t": bad.mti}
            refusal_code = ResponseCode.FORMAT_ERROR
        if fields["t"] not in iso.REQUEST_MTIS:
            raise HangUp(f"MTI {fields['t']!r} is not a request this channel answers")

        async def answer() -> bytes:
            if refusal_code is None:
                return _encode(await self.respond(fields))
            return _encode(_reply(fields, refusal_code))

        return answer

    async def respond(self, fields: dict[str, str]) -> dict[str, str]:
        """The response fields to one decoded request (``fields["t"]`` is a request MTI)."""
        mti = fields["t"]
        try:
            extra = await self._handle(mti, fields)
        except HubError as error:
            code = response_code(error, mti)
            log.info(
                "%s STAN %s RRN %s refused %s: %s",
                mti,
                fields.get("11"),
                fields.get("37"),
                code.value,
                error.message,
            )
            return _reply(fields, code)
        except Exception as raised:
            failure = as_partner_error(raised)
            if isinstance(failure, HubError):
                log.warning("%s STAN %s: %s", mti, fields.get("11"), failure.message)
                return _reply(fields, response_code(failure, mti))
            log.exception("%s STAN %s: unexpected error", mti, fields.get("11"))
            return _reply(fields, ResponseCode.SYSTEM_ERROR)
        return {**_reply(fields, ResponseCode.APPROVED), **extra}

    async def _handle(self, mti: str, fields: dict[str, str]) -> dict[str, str]:
        """Fields the approval adds to the echoed ones; a refusal is a ``HubError``."""
        data: dict[str, object] = dict(fields)
        if mti == "0800":
            build(NetworkManagement, data)
            return {}
        if mti == "0200":
            request = build(BillRequest, data)
            partner = await self._partner(request.acquirer, OPERATIONS[request.processing_code])
            if request.processing_code == iso.INQUIRY:
                return await self._inquiry(partner, request)
            return await self._payment(partner, request)
        advice = build(ReversalAdvice, data)
        return await self._reversal(
            await self._partner(advice.acquirer, "iso8583-reversal"), advice
        )

    async def _partner(self, acquirer: str, operation: str) -> Partner:
        """The partner field 32 names, once it has a token left for ``operation``."""
        found = self._context.partner(self._acquirers.get(acquirer))
        if found is None:
            raise Unauthenticated(f"acquiring institution {acquirer!r} is not a BNI 46 partner")
        partner = found[0]
        if self._context.limits is not None:
            limit_class = "inquiry" if operation == OPERATIONS[iso.INQUIRY] else "default"
            await self._context.limits.take(self._slug, partner.partner_id, operation, limit_class)
        return partner

    def _member(self, member_id: str) -> dict[str, object]:
        """Field 48's member id: a payment code of ours, or a NIK (the kit's one rule)."""
        number = nik_or_payment_code(member_id, self._context.intake.payment_codes)
        if number.nik is not None:
            return {"nik": number.nik}
        return {"payment_code": number.payment_code}

    async def _inquiry(self, partner: Partner, request: BillRequest) -> dict[str, str]:
        inquiry = build(
            InquiryRequest, {**self._member(request.member_id), "months": request.months}
        )
        bill = await self._context.intake.inquiry(inquiry, partner, channel=self._slug)
        return {"4": iso.amount_field(bill.amount_due), "48": bill_answer(request, bill)}

    async def _payment(self, partner: Partner, request: BillRequest) -> dict[str, str]:
        if request.amount is None:
            raise InvalidRequest(
                "a payment carries its amount in field 4", [FieldProblem("4", "missing", "missing")]
            )
        if not request.amount.endswith("00"):
            raise InvalidRequest(
                f"amount {request.amount} is not whole rupiah",
                [FieldProblem("amount", "whole rupiah: the two implied decimals must be 00")],
            )
        payment = build(
            PaymentRequest,
            {
                **self._member(request.member_id),
                "reference": request.rrn,
                "months": request.months,
                "amount": int(request.amount) // 100,
                "paid_at": self._transaction_time(request, partner),
                "outlet_id": request.outlet_id,
            },
        )
        accepted = await self._context.intake.submit_payment(partner, payment)
        receipt = request.bill + iso.fixed(accepted.hub_reference, 20)
        return {"48": receipt}

    async def _reversal(self, partner: Partner, advice: ReversalAdvice) -> dict[str, str]:
        # A 0401 repeats its 0400 with the same STAN: the same reversal, answered as before.
        reversal = build(
            ReversalRequest,
            {
                "reference": f"{advice.rrn}-{advice.stan}",
                "payment_reference": advice.rrn,
                "reason": f"reversed by the BNI 46 switch (original STAN {advice.original_stan})",
            },
        )
        await self._context.intake.submit_reversal(partner, reversal)
        return {}

    def _transaction_time(self, request: BillMessage, partner: Partner) -> datetime:
        """Fields 12 and 13 in the partner's zone; the year is the one nearest the hub's now.

        Not field 7: a retransmission has a new transmission time but is the same payment.
        """
        zone = ZoneInfo(partner.timezone)
        now = self._context.clock().astimezone(zone)
        month, day = int(request.local_date[:2]), int(request.local_date[2:])
        hour, minute, second = (int(request.local_time[i : i + 2]) for i in (0, 2, 4))
        candidates = []
        for year in (now.year - 1, now.year, now.year + 1):
            with contextlib.suppress(ValueError):
                candidates.append(datetime(year, month, day, hour, minute, second, tzinfo=zone))
        if not candidates:
            raise InvalidRequest(
                "field 13 is 29 February far from a leap year",
                [FieldProblem("13", "not a date near today")],
            )
        return min(candidates, key=lambda moment: abs(moment - now))


def _reply(fields: dict[str, str], code: ResponseCode) -> dict[str, str]:
    answer = {key: fields[key] for key in ECHOED if key in fields}
    return {**answer, "t": iso.REQUEST_MTIS[fields["t"]], "39": code.value}


def _encode(answer: dict[str, str]) -> bytes:
    try:
        return iso.encode(answer)
    except (ValueError, TypeError):
        log.exception("could not encode the answer %r; answering 96", answer)
        minimal: dict[str, str] = {k: answer[k] for k in ("t", "7", "11", "37") if k in answer}
        return iso.encode({**minimal, "39": ResponseCode.SYSTEM_ERROR.value})


def bill_answer(request: BillRequest, bill: InquiryAnswer) -> str:
    """Field 48 of an approved inquiry, laid out as ``iso.INQUIRY_ANSWER_LAYOUT``."""
    values = (
        request.bill[:20],
        f"{bill.months:02d}",
        bill.kpj or "",
        bill.masked_name,
        "+".join(bill.programmes),
        bill.member_status,
        f"{bill.covers_from:%Y%m}",
        f"{bill.covers_through:%Y%m}",
        iso.amount_field(bill.monthly_amount),
        f"{bill.arrears_months:02d}",
        "" if bill.arrears_through is None else f"{bill.arrears_through:%Y%m}",
    )
    return "".join(
        iso.fixed(value, width)
        for value, (_, width) in zip(values, iso.INQUIRY_ANSWER_LAYOUT, strict=True)
    )
