"""What the retail chains (Indomaret, Alfamart) share: the counter's flow, not its wire format.

A cashier types one number, a member's payment code or their NIK; the store's
host sends an inquiry, then the payment, and when its own timeout fires either
repeats the payment (an *advice*) or takes it back (a *reversal*). Each chain
names these fields, signs them and answers them in its own way
(``adapters/indomaret.py``, ``adapters/alfamart.py``); this module holds the
steps in between, so both chains behave alike where the hub is concerned.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from hub.errors import FieldProblem, InvalidRequest, NotFound, Unauthenticated
from hub.intake.model import Acceptance, InquiryAnswer, Partner, RequestView
from hub.intake.parsing import build
from hub.intake.ports import RequestKind
from hub.intake.requests import (
    InquiryRequest,
    PaymentRequest,
    RegistrationRequest,
    ReversalRequest,
)
from hub.intake.service import IntakeService
from hub.membership.payment_code import nik_or_payment_code
from schemas.fields import PartnerReference

EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
"""Transaction times outside these years are typing errors, not payments."""

M = TypeVar("M", bound=BaseModel)
_REFERENCE: TypeAdapter[str] = TypeAdapter(PartnerReference)


class TransactionNotFound(NotFound):
    """The partner names one of its own transactions (to reverse or check) that never reached us.

    Kept apart from an unknown payment code: retail hosts act differently on
    "no such bill" and "no such transaction of yours".
    """


class ReversalMismatch(InvalidRequest):
    """A reversal names a payment but another amount: it is not taking back that payment."""

    def __init__(self, field: str, paid: int) -> None:
        super().__init__(
            f"the payment being reversed was for {paid}",
            [FieldProblem(field, f"must be {paid}, the amount of the payment")],
        )
        self.paid = paid


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """One of the partner's transactions as the hub holds it, with the payment's reversal."""

    request: RequestView
    reversal: RequestView | None = None


def member_fields(typed: str, intake: IntakeService) -> dict[str, str]:
    """What the cashier typed, as intake names a member: a payment code, or else a NIK.

    A payment code is the biller prefix plus an 11-digit KPJ (looked up as typed,
    with no check digit: most KPJs come from the agency's core), so a number of
    that shape is a payment code; a 16-digit number that is not is taken for a NIK.
    Anything else is looked up as a payment code, and intake answers "unknown" or
    "malformed" for it.
    """
    number = nik_or_payment_code(typed, intake.payment_codes)
    return {"nik": typed} if number.nik is not None else {"payment_code": typed}


def check_signed_at(sent_at: datetime, now: datetime, window_s: int, header: str) -> None:
    """Refuse a signature dated outside the replay window, so a captured request stays dead."""
    if abs(now - sent_at) > timedelta(seconds=window_s):
        raise Unauthenticated(f"{header} is more than {window_s} s off the hub's clock")


def check_year(moment: datetime) -> datetime:
    """A pydantic after-validator: a transaction time in a plausible year (and convertible)."""
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


def in_partner_terms(error: InvalidRequest, names: Mapping[str, str]) -> InvalidRequest:
    """An intake refusal with each hub field renamed to the partner's own field name."""
    problems = [FieldProblem(_renamed(p.field, names), p.reason, p.kind) for p in error.problems]
    summary = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
    return InvalidRequest(f"invalid request: {summary}" if problems else error.message, problems)


def _renamed(path: str, names: Mapping[str, str]) -> str:
    head, dot, rest = path.partition(".")
    return names.get(head, head) + dot + rest


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body a route reads raw (it must, to check the signature first)."""
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class RetailCounter:
    """The counter flow over intake, with every refusal in one chain's field names."""

    def __init__(self, intake: IntakeService, channel: str) -> None:
        self.intake = intake
        self.channel = channel

    def _build(self, model: type[M], fields: dict[str, object], names: Mapping[str, str]) -> M:
        try:
            return build(model, fields)
        except InvalidRequest as exc:
            raise in_partner_terms(exc, names) from None

    async def register(
        self, partner: Partner, fields: dict[str, object], names: Mapping[str, str]
    ) -> Acceptance:
        request = self._build(RegistrationRequest, fields, names)
        with _partner_terms(names):
            return await self.intake.submit_registration(partner, request)

    async def inquiry(
        self, partner: Partner, typed: str, months: object, names: Mapping[str, str]
    ) -> InquiryAnswer:
        fields = {**member_fields(typed, self.intake), "months": months}
        request = self._build(InquiryRequest, fields, names)
        with _partner_terms(names):
            return await self.intake.inquiry(request, partner, channel=self.channel)

    async def pay(
        self, partner: Partner, typed: str, fields: dict[str, object], names: Mapping[str, str]
    ) -> Acceptance:
        """A payment, or its advice: a repeat answers as the first time and applies nothing."""
        fields = {**member_fields(typed, self.intake), **fields}
        request = self._build(PaymentRequest, fields, names)
        with _partner_terms(names):
            return await self.intake.submit_payment(partner, request)

    async def reverse(
        self,
        partner: Partner,
        fields: dict[str, object],
        amount: int,
        names: Mapping[str, str],
    ) -> Acceptance:
        """Take back a payment; the host's amount must be the payment's, or nothing happens.

        A payment that never reached us (or whose event the broker never
        acknowledged) is answered as such: there is nothing to take back.
        """
        request = self._build(ReversalRequest, fields, names)
        with _partner_terms(names), _as_transaction_not_found():
            payment = await self.intake.status(partner, "payment", request.payment_reference)
            paid = payment.amount
            if paid is not None and paid != amount:
                raise ReversalMismatch("amount", paid)
            return await self.intake.submit_reversal(partner, request)

    async def status(
        self, partner: Partner, kind: RequestKind, reference: str, names: Mapping[str, str]
    ) -> TransactionStatus:
        try:
            _REFERENCE.validate_python(reference)
        except ValidationError as exc:
            field, reason = names.get("reference", "reference"), exc.errors()[0]["msg"]
            raise InvalidRequest(
                f"invalid request: {field}: {reason}", [FieldProblem(field, reason)]
            ) from None
        with _as_transaction_not_found():
            claimed = await self.intake.status(partner, kind, reference)
        reversal = await self.intake.reversal_of(partner, reference) if kind == "payment" else None
        return TransactionStatus(claimed, reversal)


@contextmanager
def _partner_terms(names: Mapping[str, str]) -> Iterator[None]:
    """Intake's refusals keep their type; only the fields they name are renamed."""
    try:
        yield
    except InvalidRequest as exc:
        exc.problems = [
            FieldProblem(_renamed(p.field, names), p.reason, p.kind) for p in exc.problems
        ]
        raise


@contextmanager
def _as_transaction_not_found() -> Iterator[None]:
    """Here "not found" is about the partner's own transaction, not a member."""
    try:
        yield
    except NotFound as exc:
        raise TransactionNotFound(exc.message) from None
