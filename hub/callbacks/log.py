"""What partners and operators can see of callback deliveries: each attempt and its outcome."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.tables import callback_attempts, callback_deliveries


@dataclass(frozen=True, slots=True)
class Attempt:
    attempt: int
    attempted_at: datetime
    duration_ms: int
    http_status: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    notification_id: str
    event: str
    url: str
    status: str
    attempts: list[Attempt]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    give_up_at: datetime


class CallbackLog:
    """Reads the callback outbox and its attempts."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def for_request(self, partner_id: str, kind: str, reference: str) -> list[DeliveryRecord]:
        """The notifications about one of a partner's requests, oldest first."""
        d = callback_deliveries
        async with self._engine.connect() as conn:
            deliveries = (
                await conn.execute(
                    sa.select(d)
                    .where(
                        d.c.partner_id == partner_id, d.c.kind == kind, d.c.reference == reference
                    )
                    .order_by(d.c.id)
                )
            ).all()
            ids = [row.id for row in deliveries]
            attempts = (
                (
                    await conn.execute(
                        sa.select(callback_attempts)
                        .where(callback_attempts.c.delivery_id.in_(ids))
                        .order_by(callback_attempts.c.delivery_id, callback_attempts.c.attempt)
                    )
                ).all()
                if ids
                else []
            )
        by_delivery: dict[int, list[Attempt]] = {}
        for a in attempts:
            by_delivery.setdefault(a.delivery_id, []).append(
                Attempt(a.attempt, a.attempted_at, a.duration_ms, a.http_status, a.error)
            )
        return [
            DeliveryRecord(
                notification_id=str(row.notification_id),
                event=row.event,
                url=row.url,
                status=row.status,
                attempts=by_delivery.get(row.id, []),
                next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
                delivered_at=row.delivered_at,
                give_up_at=row.give_up_at,
            )
            for row in deliveries
        ]
