"""What the store says about the flow: unrecorded requests and callbacks, for gauges."""

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.tables import callback_deliveries, unrecorded_requests


@dataclass(frozen=True, slots=True)
class FlowState:
    unrecorded: int
    oldest_unrecorded_at: datetime | None
    callbacks: dict[str, int]
    oldest_undelivered_at: datetime | None


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the store writes UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the store."""
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def flow_state(engine: AsyncEngine) -> FlowState:
    """Accepted-but-unrecorded requests and the callback outbox, in one connection."""
    u, d = unrecorded_requests, callback_deliveries
    async with engine.connect() as conn:
        unrecorded = (
            await conn.execute(sa.select(sa.func.count(), sa.func.min(u.c.created_at)))
        ).one()
        by_status = {
            row.status: row.n
            for row in await conn.execute(
                sa.select(d.c.status, sa.func.count().label("n")).group_by(d.c.status)
            )
        }
        oldest_pending = (
            await conn.execute(
                sa.select(sa.func.min(d.c.created_at)).where(d.c.status == "pending")
            )
        ).scalar_one()
    return FlowState(
        unrecorded=unrecorded[0],
        oldest_unrecorded_at=aware(unrecorded[1]),
        callbacks=by_status,
        oldest_undelivered_at=aware(oldest_pending),
    )
