"""Intake: validate, claim the partner's reference, publish, answer.

The partner's reference is its idempotency key. The inbox row is claimed before
the event is published, and the event id is derived from (partner, kind,
reference), so a retry, even a concurrent one, republishes the very same event,
which the core consumer applies once. A partner hears "accepted" only after
the broker acknowledged the event.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import BaseModel

from hub.errors import AmountMismatch, NotFound, ReferenceConflict
from hub.intake.ports import (
    ClaimedRequest,
    EventPublisher,
    MemberTerms,
    NewRequest,
    RequestKind,
    RequestLedger,
)
from hub.intake.requests import InquiryRequest, PaymentRequest, RegistrationRequest
from hub.membership.coverage import add_months, covers_from, local_month
from hub.membership.masking import mask_name
from hub.membership.schedule import ContributionSchedule
from schemas.events import ContributionPaid, EventEnvelope, EventPayload, RegistrationSubmitted

_EVENT_NAMESPACE = uuid.UUID("6f1c7a52-3d0e-4f43-9c55-0b7e2f1b8a10")
_HUB_REFERENCE_PREFIX: dict[RequestKind, str] = {
    "registration": "REG",
    "payment": "PAY",
    "reversal": "REV",
}


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The answer to an accepted request: the same for every retry of it."""

    reference: str
    hub_reference: str
    status: str = "accepted"


@dataclass(frozen=True, slots=True)
class InquiryAnswer:
    """What a cashier shows before taking cash."""

    nik: str
    masked_name: str
    programmes: tuple[str, ...]
    months: int
    covers_from: date
    covers_through: date
    amount_due: int


@dataclass(frozen=True, slots=True)
class Partner:
    """An authenticated partner and the channel it sends through."""

    partner_id: str
    channel: str


def event_id_for(partner_id: str, kind: RequestKind, reference: str) -> uuid.UUID:
    """The one event id a partner request can ever produce."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{partner_id}\x1f{kind}\x1f{reference}")


def hub_reference_for(kind: RequestKind, event_id: uuid.UUID) -> str:
    return f"{_HUB_REFERENCE_PREFIX[kind]}-{event_id.hex[:16].upper()}"


def request_hash(request: BaseModel) -> str:
    """Fingerprint of the request's content, independent of JSON spacing and key order."""
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


class IntakeService:
    """The use cases of the partner API; adapters of every channel call these."""

    def __init__(
        self,
        ledger: RequestLedger,
        publisher: EventPublisher,
        schedule: ContributionSchedule,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._publisher = publisher
        self._schedule = schedule
        self._clock = clock

    async def submit_registration(
        self, partner: Partner, request: RegistrationRequest
    ) -> Acceptance:
        self._schedule.check_declared_income(request.declared_income)
        payload = RegistrationSubmitted(**request.model_dump(exclude={"reference"}))
        now = self._clock()
        return await self._accept(partner, "registration", request, payload, occurred_at=now)

    async def inquiry(self, request: InquiryRequest) -> InquiryAnswer:
        terms = await self._terms(request.nik)
        amount_due = self._schedule.amount_due(
            terms.declared_income, terms.programmes, request.months
        )
        first = covers_from(terms.paid_through, local_month(request.nik, self._clock()))
        return InquiryAnswer(
            nik=request.nik,
            masked_name=mask_name(terms.full_name),
            programmes=terms.programmes,
            months=request.months,
            covers_from=first,
            covers_through=add_months(first, request.months - 1),
            amount_due=amount_due,
        )

    async def submit_payment(self, partner: Partner, request: PaymentRequest) -> Acceptance:
        terms = await self._terms(request.nik)
        amount_due = self._schedule.amount_due(
            terms.declared_income, terms.programmes, request.months
        )
        if request.amount != amount_due:
            raise AmountMismatch(request.amount, amount_due, request.months)
        payload = ContributionPaid(
            nik=request.nik,
            months=request.months,
            amount=request.amount,
            paid_at=request.paid_at,
            outlet_id=request.outlet_id,
        )
        return await self._accept(partner, "payment", request, payload, request.paid_at)

    async def status(self, partner: Partner, kind: RequestKind, reference: str) -> ClaimedRequest:
        """A request's status, for the partner that sent it and no one else."""
        claimed = await self._ledger.find(partner.partner_id, kind, reference)
        if claimed is None or claimed.status == "pending":
            raise NotFound(f"no {kind} with reference {reference!r} was accepted from you")
        return claimed

    async def _terms(self, nik: str) -> MemberTerms:
        terms = await self._ledger.member_terms(nik)
        if terms is None:
            raise NotFound(f"no member or accepted registration for NIK {nik}")
        return terms

    async def _accept(
        self,
        partner: Partner,
        kind: RequestKind,
        request: RegistrationRequest | PaymentRequest,
        payload: EventPayload,
        occurred_at: datetime,
    ) -> Acceptance:
        fingerprint = request_hash(request)
        event_id = event_id_for(partner.partner_id, kind, request.reference)
        received_at = self._clock()
        envelope = EventEnvelope(
            event_id=event_id,
            event_type=payload.event_type,
            channel=partner.channel,
            partner_id=partner.partner_id,
            partner_ref=request.reference,
            occurred_at=occurred_at,
            received_at=received_at,
            member_key=request.nik,
            payload=payload,
        )
        claimed = await self._ledger.claim(
            NewRequest(
                partner_id=partner.partner_id,
                kind=kind,
                reference=request.reference,
                request_hash=fingerprint,
                event_id=event_id,
                hub_reference=hub_reference_for(kind, event_id),
                member_key=request.nik,
                event_json=envelope.model_dump_json(),
                received_at=received_at,
            )
        )
        if claimed.request_hash != fingerprint:
            raise ReferenceConflict(
                f"reference {request.reference!r} was already used for a different {kind}"
            )
        if claimed.status == "pending":
            # First attempt, a concurrent twin, or a retry after a 503: (re)publish the
            # stored event. Same event id every time, so the consumer applies it once.
            await self._publisher.publish(claimed.member_key, claimed.event_json.encode())
            await self._ledger.mark_accepted(claimed.event_id, self._clock())
        return Acceptance(reference=claimed.reference, hub_reference=claimed.hub_reference)
