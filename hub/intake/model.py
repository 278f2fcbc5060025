"""The intake's shared vocabulary: who is asking, what it is told, and the ids it gets.

The API, the channel adapters, the store, the callbacks and the signing code all
speak these types; keeping them apart from the use cases in ``service`` lets each
of those import what a request *is* without importing what intake *does*.
"""

import hashlib
import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any, Literal

import msgspec
from pydantic import BaseModel

from hub.intake.ports import ClaimedRequest, RequestKind, RequestStatus
from hub.membership.coverage import ArrearsFirst
from hub.settlement.business_day import business_date
from schemas.events import ContributionPaid, EventEnvelope

_EVENT_NAMESPACE = uuid.UUID("6f1c7a52-3d0e-4f43-9c55-0b7e2f1b8a10")
_EVENT_NAMESPACE_BYTES = _EVENT_NAMESPACE.bytes
_HUB_REFERENCE_PREFIX: dict[RequestKind, str] = {
    "registration": "REG",
    "payment": "PAY",
    "reversal": "REV",
}
MemberStatus = Literal["active", "inactive", "pending"]


class Acceptance(msgspec.Struct, frozen=True):
    """The answer to an accepted request: the same for every retry of it.

    ``kpj`` is set when the member was already recorded when the request came in
    (a second registration of the same NIK answers with the first KPJ). A msgspec struct
    for what ``InboxEntry`` says: a batch file answers one for every row.
    """

    reference: str
    hub_reference: str
    status: str = "accepted"
    kpj: str | None = None


@dataclass(frozen=True, slots=True)
class InquiryAnswer(ArrearsFirst):
    """What a cashier shows before taking cash: the member's bill for ``months`` months."""

    nik: str
    kpj: str | None
    payment_code: str | None
    masked_name: str
    programmes: tuple[str, ...]
    member_status: MemberStatus
    paid_through: date | None
    months: int
    """The months asked for, after the arrears."""
    monthly_amount: int
    covers_from: date
    """First month the payment covers: the oldest month of arrears, if any."""
    covers_through: date
    amount_due: int
    """Arrears plus the months asked for, times the monthly amount."""
    arrears_months: int = 0
    """Unpaid past months the payment settles first (at most ``max_arrears_months``)."""

    @property
    def arrears_amount(self) -> int:
        return self.arrears_months * self.monthly_amount


@dataclass(frozen=True, slots=True)
class Partner:
    """An authenticated partner, the channel it sends through, its business-day zone and cut-off.

    ``agent_id`` is set when one of the partner's agents signed (an agency such as
    Perisai): the partner is still the agency, for intake, limits, settlement and
    callbacks; the agent is who acted, on every request and event.
    """

    partner_id: str
    channel: str
    timezone: str = "Asia/Jakarta"
    settlement_cutoff: time | None = None
    agent_id: str | None = None


def event_id_for(partner_id: str, kind: RequestKind, reference: str) -> uuid.UUID:
    """The one event id a partner request can ever produce: ``uuid.uuid5`` of the three,
    under the hub's namespace (RFC 4122's name-based UUID, SHA-1).

    Built here rather than by ``uuid.uuid5``, which makes a UUID of the digest and then a
    second one with the version set, checking each: 2.8 µs a request against 1.9, on
    every row of a batch file. The same bytes: the ids of requests stored by any earlier
    version must never change (tests/unit/test_event_ids.py holds known ones).
    """
    digest = bytearray(
        hashlib.sha1(
            _EVENT_NAMESPACE_BYTES + f"{partner_id}\x1f{kind}\x1f{reference}".encode(),
            usedforsecurity=False,
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return uuid.UUID(bytes=bytes(digest))


def hub_reference_for(kind: RequestKind, event_id: uuid.UUID) -> str:
    return f"{_HUB_REFERENCE_PREFIX[kind]}-{event_id.hex[:16].upper()}"


def request_hash(request: BaseModel, agent_id: str | None = None) -> str:
    """Fingerprint of the request's content, independent of JSON spacing and key order.

    An agent's request is fingerprinted with its agent id: the same reference sent by two
    agents of one agency is a conflict, never one agent's retry of the other's request.
    """
    content = request.model_dump_json()
    if agent_id is not None:
        content += f"\x1fagent:{agent_id}"
    return hashlib.sha256(content.encode()).hexdigest()


def business_day(partner: Partner, moment: datetime) -> date:
    """The partner's business day (its own time zone and cut-off) that ``moment`` falls in."""
    return business_date(moment, partner.timezone, partner.settlement_cutoff)


@dataclass(frozen=True, slots=True)
class RequestView:
    """One of a partner's requests as intake tells it back: references, status, money.

    Adapters answer status questions and check reversals from this; the stored event
    (the inbox's ``event_json``) stays inside the hub, read once here.
    """

    kind: RequestKind
    reference: str
    """The inbox's key: the partner's reference (for a reversal, its payment's)."""
    partner_ref: str
    """The partner's own reference for this request (a reversal's own, too)."""
    hub_reference: str
    status: RequestStatus
    kpj: str | None
    reason: str | None
    created_at: datetime
    business_date: date | None = None
    amount: int | None = None
    """A payment's amount in whole rupiah; None for registrations and reversals."""
    months: int | None = None
    """The months a payment covers; None for registrations and reversals."""
    agent_id: str | None = None
    """The agency's agent who sent it (Perisai), if one did."""

    @classmethod
    def of(cls, claimed: ClaimedRequest) -> "RequestView":
        envelope = EventEnvelope.model_validate_json(claimed.event_json)
        paid = envelope.payload if isinstance(envelope.payload, ContributionPaid) else None
        told: dict[str, object] = {
            "partner_ref": envelope.partner_ref,
            "amount": None if paid is None else paid.amount,
            "months": None if paid is None else paid.months,
        }
        # Everything else as the inbox holds it, under the same names.
        held: dict[str, Any] = {
            f.name: getattr(claimed, f.name) for f in fields(cls) if f.name not in told
        }
        return cls(**held | told)
