"""The inbox of partner requests, in SQL: claim, mark accepted, find, member terms."""

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.ports import ClaimedRequest, MemberTerms, NewRequest, RequestKind
from hub.store.tables import members, partner_requests
from schemas.events import EventEnvelope, RegistrationSubmitted

_CLAIM_COLUMNS = (
    partner_requests.c.partner_id,
    partner_requests.c.kind,
    partner_requests.c.reference,
    partner_requests.c.request_hash,
    partner_requests.c.event_id,
    partner_requests.c.hub_reference,
    partner_requests.c.member_key,
    partner_requests.c.status,
    partner_requests.c.kpj,
    partner_requests.c.reason,
    partner_requests.c.event_json,
)


def _claimed(row: Any) -> ClaimedRequest:
    return ClaimedRequest(
        partner_id=row.partner_id,
        kind=row.kind,
        reference=row.reference,
        request_hash=row.request_hash,
        event_id=row.event_id,
        hub_reference=row.hub_reference,
        member_key=row.member_key,
        status=row.status,
        kpj=row.kpj,
        reason=row.reason,
        event_json=row.event_json,
    )


class SqlRequestLedger:
    """``RequestLedger`` over the membership store's ``partner_requests`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def claim(self, request: NewRequest) -> ClaimedRequest:
        insert = (
            self._insert(partner_requests)
            .values(
                partner_id=request.partner_id,
                kind=request.kind,
                reference=request.reference,
                request_hash=request.request_hash,
                event_id=request.event_id,
                hub_reference=request.hub_reference,
                member_key=request.member_key,
                status="pending",
                event_json=request.event_json,
                created_at=request.received_at,
                updated_at=request.received_at,
            )
            .on_conflict_do_nothing(index_elements=["partner_id", "kind", "reference"])
            .returning(*_CLAIM_COLUMNS)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(insert)).first()
            if row is None:
                row = (
                    await conn.execute(
                        sa.select(*_CLAIM_COLUMNS).where(
                            partner_requests.c.partner_id == request.partner_id,
                            partner_requests.c.kind == request.kind,
                            partner_requests.c.reference == request.reference,
                        )
                    )
                ).one()
        return _claimed(row)

    async def mark_accepted(self, event_id: UUID, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                partner_requests.update()
                .where(
                    partner_requests.c.event_id == event_id,
                    partner_requests.c.status == "pending",
                )
                .values(status="accepted", updated_at=at)
            )

    async def find(
        self, partner_id: str, kind: RequestKind, reference: str
    ) -> ClaimedRequest | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*_CLAIM_COLUMNS).where(
                        partner_requests.c.partner_id == partner_id,
                        partner_requests.c.kind == kind,
                        partner_requests.c.reference == reference,
                    )
                )
            ).first()
        return None if row is None else _claimed(row)

    async def member_terms(self, nik: str) -> MemberTerms | None:
        async with self._engine.connect() as conn:
            member = (
                await conn.execute(
                    sa.select(
                        members.c.full_name,
                        members.c.programmes,
                        members.c.declared_income,
                        members.c.paid_through,
                        members.c.kpj,
                    ).where(members.c.nik == nik)
                )
            ).first()
            if member is not None:
                return MemberTerms(
                    nik=nik,
                    full_name=member.full_name,
                    programmes=tuple(member.programmes.split(",")),
                    declared_income=member.declared_income,
                    paid_through=member.paid_through,
                    kpj=member.kpj,
                )
            # Accepted but not yet recorded: the payment will queue behind the
            # registration on the member's Kafka key, so it can be priced now.
            pending = (
                await conn.execute(
                    sa.select(partner_requests.c.event_json)
                    .where(
                        partner_requests.c.member_key == nik,
                        partner_requests.c.kind == "registration",
                        partner_requests.c.status == "accepted",
                    )
                    .order_by(partner_requests.c.id)
                    .limit(1)
                )
            ).first()
        if pending is None:
            return None
        registration = EventEnvelope.model_validate_json(pending.event_json).payload
        assert isinstance(registration, RegistrationSubmitted)
        return MemberTerms(
            nik=nik,
            full_name=registration.full_name,
            programmes=registration.programmes,
            declared_income=registration.declared_income,
            paid_through=None,
            kpj=None,
        )
