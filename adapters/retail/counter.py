"""The retail counter's flow over intake, the same for every chain.

A cashier types one number, a member's payment code or their NIK; the store's
host sends an inquiry, then the payment, and when its own timeout fires either
repeats the payment (an *advice*) or takes it back (a *reversal*). This module
holds those steps, with every refusal in the chain's field names.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from hub.channels.fields import PartnerTerms
from hub.errors import FieldProblem, InvalidRequest, NotFound
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
    """What the cashier typed, as intake names a member (``nik_or_payment_code``)."""
    number = nik_or_payment_code(typed, intake.payment_codes)
    return {"nik": typed} if number.nik is not None else {"payment_code": typed}


class RetailCounter:
    """The counter flow over intake, with every refusal in one chain's field names."""

    def __init__(self, intake: IntakeService, channel: str) -> None:
        self.intake = intake
        self.channel = channel

    def _build(self, model: type[M], fields: dict[str, object], names: PartnerTerms) -> M:
        try:
            return build(model, fields)
        except InvalidRequest as exc:
            raise names.refusal(exc) from None

    async def register(
        self, partner: Partner, fields: dict[str, object], names: PartnerTerms
    ) -> Acceptance:
        request = self._build(RegistrationRequest, fields, names)
        with names.spoken():
            return await self.intake.submit_registration(partner, request)

    async def inquiry(
        self, partner: Partner, typed: str, months: object, names: PartnerTerms
    ) -> InquiryAnswer:
        fields = {**member_fields(typed, self.intake), "months": months}
        request = self._build(InquiryRequest, fields, names)
        with names.spoken():
            return await self.intake.inquiry(request, partner, channel=self.channel)

    async def pay(
        self, partner: Partner, typed: str, fields: dict[str, object], names: PartnerTerms
    ) -> Acceptance:
        """A payment, or its advice: a repeat answers as the first time and applies nothing."""
        fields = {**member_fields(typed, self.intake), **fields}
        request = self._build(PaymentRequest, fields, names)
        with names.spoken():
            return await self.intake.submit_payment(partner, request)

    async def reverse(
        self,
        partner: Partner,
        fields: dict[str, object],
        amount: int,
        names: PartnerTerms,
    ) -> Acceptance:
        """Take back a payment; the host's amount must be the payment's, or nothing happens.

        A payment that never reached us is answered as such: there is nothing to take
        back, and intake remembers the reversal, so the payment is refused if it comes
        after all (its amount is not known to check). One the hub answered "try again" is
        in doubt and is taken back all the same.
        """
        request = self._build(ReversalRequest, fields, names)
        with names.spoken(), _as_transaction_not_found():
            try:
                payment = await self.intake.payment_to_reverse(partner, request.payment_reference)
            except NotFound:
                return await self.intake.submit_reversal(partner, request)
            paid = payment.amount
            if paid is not None and paid != amount:
                raise ReversalMismatch("amount", paid)
            return await self.intake.submit_reversal(partner, request)

    async def status(
        self, partner: Partner, kind: RequestKind, reference: str, names: PartnerTerms
    ) -> TransactionStatus:
        try:
            _REFERENCE.validate_python(reference)
        except ValidationError as exc:
            field, reason = names.field("reference"), exc.errors()[0]["msg"]
            raise InvalidRequest(
                f"invalid request: {field}: {reason}", [FieldProblem(field, reason)]
            ) from None
        with _as_transaction_not_found():
            claimed = await self.intake.status(partner, kind, reference)
        reversal = await self.intake.reversal_of(partner, reference) if kind == "payment" else None
        return TransactionStatus(claimed, reversal)


@contextmanager
def _as_transaction_not_found() -> Iterator[None]:
    """Here "not found" is about the partner's own transaction, not a member."""
    try:
        yield
    except NotFound as exc:
        raise TransactionNotFound(exc.message) from None
