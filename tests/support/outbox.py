"""The callback outbox as the dispatcher tests fill and read it, on their own clock."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.callbacks.dispatcher import DeliveryPolicy
from hub.store.tables import callback_attempts, callback_deliveries

POLICY = DeliveryPolicy(
    timeout_s=2, initial_backoff_s=30, max_backoff_s=3600, concurrency=8, poll_s=0.05
)


class Clock:
    """Years ahead: rows due on this clock are not yet due for a live hub sharing the database."""

    def __init__(self) -> None:
        self.now = datetime(2036, 3, 10, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def queue_callback(engine: AsyncEngine, url: str, reference: str, now: datetime) -> int:
    """A pending callback of partner ``callme`` to ``url``, due at ``now``: its delivery id."""
    body = {"notification_id": str(uuid.uuid4()), "event": "registration.recorded"}
    async with engine.begin() as conn:
        return (
            await conn.execute(
                callback_deliveries.insert()
                .values(
                    notification_id=uuid.UUID(body["notification_id"]),
                    partner_id="callme",
                    kind="registration",
                    reference=reference,
                    event="registration.recorded",
                    url=url,
                    body=json.dumps({**body, "reference": reference}),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    give_up_at=now + timedelta(hours=24),
                    created_at=now,
                )
                .returning(callback_deliveries.c.id)
            )
        ).scalar_one()


async def delivery_state(
    engine: AsyncEngine, delivery_id: int
) -> tuple[str, int, list[int | None]]:
    """A delivery's status, its attempts, and the HTTP status of each attempt in order."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(callback_deliveries.c.status, callback_deliveries.c.attempts).where(
                    callback_deliveries.c.id == delivery_id
                )
            )
        ).one()
        statuses = (
            await conn.execute(
                sa.select(callback_attempts.c.http_status)
                .where(callback_attempts.c.delivery_id == delivery_id)
                .order_by(callback_attempts.c.attempt)
            )
        ).scalars()
        return row.status, row.attempts, list(statuses)
