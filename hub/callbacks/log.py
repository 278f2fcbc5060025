"""What partners and operators can see of callback deliveries: each attempt and its outcome."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store.tables import callback_attempts, callback_deliveries
from hub.store.watch import aware


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


async def attempts_of(conn: AsyncConnection, ids: list[int]) -> dict[int, list[Attempt]]:
    """Every attempt of these deliveries, in order, by delivery id (UTC-aware times)."""
    if not ids:
        return {}
    a = callback_attempts
    rows = await conn.execute(
        sa.select(a).where(a.c.delivery_id.in_(ids)).order_by(a.c.delivery_id, a.c.attempt)
    )
    by_delivery: dict[int, list[Attempt]] = {}
    for t in rows:
        by_delivery.setdefault(t.delivery_id, []).append(
            Attempt(
                t.attempt,
                aware(t.attempted_at) or t.attempted_at,
                t.duration_ms,
                t.http_status,
                t.error,
            )
        )
    return by_delivery


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
            by_delivery = await attempts_of(conn, [row.id for row in deliveries])
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
