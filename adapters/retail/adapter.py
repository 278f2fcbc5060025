"""A retail chain's store host over HTTP: the same six operations, in each chain's own words.

Every chain's host sends the same calls (registration, inquiry, payment, advice,
reversal, status) and hears the same answers; only the words differ. So the
operations are written here once, in the hub's vocabulary, and a chain
(``indomaret``, ``alfamart``) declares only what is its own:

- its wire models (``RetailMessages``) and, per message, its field names
  (``PartnerTerms``): they are both the field map into intake and the names its
  refusals use;
- the names of its answer fields and its words (``terms.answers``, ``terms.words``);
- its signature scheme and its code table.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from adapters.retail.counter import (
    RetailCounter,
    ReversalMismatch,
    TransactionStatus,
)
from hub.channels.base import ChannelContext, HttpChannelAdapter, SignedOptions
from hub.channels.codes import CodeTable
from hub.channels.fields import PartnerTerms, bill_fields
from hub.channels.routes import Handler, Operation
from hub.errors import AmountMismatch, HubError, InvalidRequest
from hub.intake.model import InquiryAnswer, RequestView
from hub.intake.parsing import parse_json
from hub.intake.ports import RequestKind

OptionsT = TypeVar("OptionsT", bound=SignedOptions)


@dataclass(frozen=True, slots=True)
class RetailMessages:
    """A chain's wire model of each call; each model's docstring is its call's summary."""

    registration: type[BaseModel]
    inquiry: type[BaseModel]
    payment: type[BaseModel]
    reversal: type[BaseModel]
    status: type[BaseModel]


@dataclass(frozen=True, slots=True)
class RetailTerms:
    """A chain's vocabulary: its field names per message, and its words for the hub's."""

    registration: PartnerTerms
    payment: PartnerTerms
    """Inquiry, payment and status: the member's number, amounts, the transaction."""
    reversal: PartnerTerms
    answers: PartnerTerms
    """The hub's answer fields -> the chain's (``reference`` -> ``NoTransaksi``...)."""
    words: Mapping[str, str] = field(default_factory=dict)
    """The hub's words -> the chain's where they differ from the hub's statuses in capitals
    and its transaction kinds as they are (``accepted`` -> ``DITERIMA``, ``payment`` ->
    ``PEMBAYARAN``)."""

    @classmethod
    def of(cls, *names: Mapping[str, str], words: Mapping[str, str] | None = None) -> "RetailTerms":
        """From the chain's name tables (registration, payment, reversal, answers) and words."""
        registration, payment, reversal, answers = (PartnerTerms(n) for n in names)
        return cls(registration, payment, reversal, answers, dict(words or {}))

    def status(self, hub_word: str) -> str:
        """A status as the chain says it."""
        return self.words.get(hub_word, hub_word.upper())

    def kind(self, kind: RequestKind) -> str:
        """A transaction kind as the chain says it."""
        return self.words.get(kind, kind)


class StoreMessage(BaseModel):
    """A store host's message: its own field names, nothing else, JSON types as they are."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class RetailAdapter(HttpChannelAdapter[OptionsT], Generic[OptionsT]):
    """A store host's six operations; subclasses declare the chain's words (see the module)."""

    messages: ClassVar[RetailMessages]
    terms: ClassVar[RetailTerms]
    codes: ClassVar[CodeTable[str]]
    """With its ``Envelope``: where an answer carries the code and its text."""
    lists_field_problems: ClassVar[bool] = False
    """Whether a refusal lists each field at fault (``errors``) besides its ``detail``."""

    @property
    def prefix(self) -> str:
        """Every chain's operations are under ``/<slug>/v1``."""
        return f"/{self.slug}/v1"

    def __init__(self, context: ChannelContext, options: OptionsT) -> None:
        super().__init__(context, options)
        self.counter = RetailCounter(context.intake, self.slug)

    def operations(self) -> list[Operation]:
        calls = self.messages
        return [
            _operation(self.prefix, "registration", self.registration, calls.registration),
            _operation(self.prefix, "inquiry", self.inquiry, calls.inquiry),
            _operation(self.prefix, "payment", self.payment, calls.payment),
            Operation(f"{self.prefix}/advice", self.payment, ADVICE, calls.payment),
            _operation(self.prefix, "reversal", self.reversal, calls.reversal),
            _operation(self.prefix, "status", self.status, calls.status),
        ]

    async def registration(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        wire = _wire(parse_json(self.messages.registration, body))
        names = self.terms.registration
        fields = self.registration_fields(_fields(wire, names))
        accepted = await self.counter.register(partner, fields, names)
        return self.approved(
            reference=accepted.reference,
            hub_reference=accepted.hub_reference,
            kpj=accepted.kpj,
            member_payment_code=self._payment_code(accepted.kpj),
        )

    async def inquiry(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        wire = _wire(parse_json(self.messages.inquiry, body))
        names = self.terms.payment
        typed = wire[names.field("payment_code")]
        bill = await self.counter.inquiry(partner, typed, wire[names.field("months")], names)
        echo = _given(wire, names, "reference")
        return self.approved(**echo, payment_code=typed, **self._bill(bill))

    async def payment(self, request: Request) -> Response:
        """A payment, or its advice: a repeat answers as the first time and applies nothing."""
        partner, body = await self.signed(request)
        wire = _wire(parse_json(self.messages.payment, body))
        names = self.terms.payment
        fields = _fields(wire, names)
        typed = str(fields.pop("payment_code"))
        fields.pop("nik", None)
        paid_at = fields["paid_at"]
        if isinstance(paid_at, datetime) and paid_at.tzinfo is None:
            # A host that sends its wall clock means the partner's own zone.
            fields["paid_at"] = paid_at.replace(tzinfo=ZoneInfo(partner.timezone))
        accepted = await self.counter.pay(partner, typed, fields, names)
        return self.approved(
            reference=accepted.reference,
            hub_reference=accepted.hub_reference,
            payment_code=typed,
            months=fields["months"],
            amount=fields["amount"],
        )

    async def reversal(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        wire = _wire(parse_json(self.messages.reversal, body))
        names = self.terms.reversal
        fields = _fields(wire, names)
        amount = fields.pop("amount")
        assert isinstance(amount, int)  # the wire model's type
        accepted = await self.counter.reverse(partner, fields, amount, names)
        return self.approved(
            reference=accepted.reference,
            payment_reference=fields["payment_reference"],
            hub_reference=accepted.hub_reference,
        )

    async def status(self, request: Request) -> Response:
        partner, body = await self.signed(request)
        wire = _wire(parse_json(self.messages.status, body))
        names = self.terms.payment
        said = str(wire[names.field("kind")])
        reference = str(wire[names.field("reference")])
        # A transaction kind the chain does not name otherwise is the hub's own word.
        kinds: dict[str, RequestKind] = {self.terms.kind(k): k for k in _KINDS}
        found = await self.counter.status(partner, kinds[said], reference, names)
        return self.approved(kind=said, **self._status(found))

    def approved(self, **fields: Any) -> JSONResponse:
        """The chain's success answer, its fields given in the hub's words."""
        return self.coded(self.codes.success, fields)

    def coded(self, code: str, fields: Mapping[str, Any]) -> JSONResponse:
        body = self.codes.answer(code)
        body.update(self.terms.answers.say(fields))
        return JSONResponse(body, status_code=self.codes.status_of_code(code))

    def code_of(self, error: HubError) -> str:
        return self.codes.code(error)

    def error_response(self, request: Request, error: Exception) -> Response:
        if not isinstance(error, HubError):
            return self.coded(self.codes.otherwise, {"detail": "unexpected error; it was logged"})
        extra: dict[str, Any] = {"detail": error.message}
        if self.lists_field_problems and isinstance(error, InvalidRequest) and error.problems:
            extra["errors"] = [{"field": p.field, "reason": p.reason} for p in error.problems]
        if isinstance(error, AmountMismatch):
            extra["bill_amount"] = error.amount_due
        if isinstance(error, ReversalMismatch):
            extra["original_amount"] = error.paid
        return self.coded(self.code_of(error), extra)

    def _payment_code(self, kpj: str | None) -> str | None:
        return None if kpj is None else self.intake.payment_codes.for_kpj(kpj)

    def _bill(self, bill: InquiryAnswer) -> dict[str, Any]:
        fields = bill_fields(bill)
        del fields["nik"]  # the cashier typed it, or a payment code: not shown back
        fields["programmes"] = self.programmes(bill.programmes)
        fields["member_status"] = self.terms.status(bill.member_status)
        return fields

    def registration_fields(self, fields: dict[str, object]) -> dict[str, object]:
        """A registration's fields as intake reads them (a chain converts its own forms)."""
        return fields

    def programmes(self, programmes: tuple[str, ...]) -> object:
        """A member's programmes as the chain writes them (a list, unless it says otherwise)."""
        return list(programmes)

    def _status(self, found: TransactionStatus) -> dict[str, Any]:
        claimed = found.request
        answer = self._transaction(claimed)
        if claimed.kind == "registration":
            answer["kpj"] = claimed.kpj
            answer["member_payment_code"] = self._payment_code(claimed.kpj)
        else:
            reversal = found.reversal
            answer["reversal"] = None if reversal is None else self._said(reversal)
        return answer

    def _transaction(self, claimed: RequestView) -> dict[str, Any]:
        return {
            "reference": claimed.partner_ref,
            "hub_reference": claimed.hub_reference,
            "status": self.terms.status(claimed.status),
            "reason": claimed.reason,
        }

    def _said(self, claimed: RequestView) -> dict[str, Any]:
        return self.terms.answers.say(self._transaction(claimed))


ADVICE = "Advice: repeat a payment whose answer timed out (applied at most once)"


def _operation(prefix: str, name: str, handler: Handler, message: type[BaseModel]) -> Operation:
    summary = (message.__doc__ or name).strip().splitlines()[0]
    return Operation(f"{prefix}/{name}", handler, summary, message)


_KINDS: tuple[RequestKind, ...] = ("registration", "payment")


def _wire(message: BaseModel) -> dict[str, Any]:
    """A parsed message by its wire names (after its validators: dates, sex, programmes)."""
    return message.model_dump(by_alias=True)


def _fields(wire: Mapping[str, Any], names: PartnerTerms) -> dict[str, object]:
    """The hub's fields a message carries: each hub name whose wire name it has, if given."""
    return {
        name: wire[said]
        for name, said in names.names.items()
        if said in wire and wire[said] is not None
    }


def _given(wire: Mapping[str, Any], names: PartnerTerms, name: str) -> dict[str, Any]:
    value = wire.get(names.field(name))
    return {} if value is None else {name: value}
