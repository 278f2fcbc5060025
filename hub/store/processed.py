"""``processed_events``: the consumer's record of every event it applied.

Claiming an event id is the consumer's idempotency: a replayed partition, or an event
twice in one batch, finds its id taken and changes nothing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.bulk import insert_rows
from hub.store.tables import processed_events

# SQLite allows 32,766 bound parameters per statement; stay well below.
_IN_CHUNK = 900


async def claim_events(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: datetime
) -> set[UUID]:
    """Insert ``rows`` (event id, type, partition, offset) as recorded; return the new ids.

    On PostgreSQL one INSERT ... ON CONFLICT DO NOTHING RETURNING both finds the events
    seen before and claims the others (a concurrent consumer claiming the same id waits
    for this transaction, then sees it taken); rows go in event-id order, so two such
    inserts lock in one order. SQLite, a single writer, looks first and inserts the rest.
    Rejected events are marked afterwards with ``mark_rejected``.
    """
    if not rows:
        return set()
    # UUID's order, compared as ints (UUID.__lt__ is Python).
    claimed = sorted(rows, key=lambda row: row["event_id"].int)
    every = {"outcome": "recorded", "processed_at": now}
    if conn.dialect.name == "postgresql":
        inserted = await insert_rows(
            conn,
            processed_events,
            claimed,
            skip_conflicts_on=("event_id",),
            returning=("event_id",),
            every=every,
        )
        return {row.event_id for row in inserted}
    seen: set[UUID] = set()
    ids = [row["event_id"] for row in claimed]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        result = await conn.execute(
            sa.select(processed_events.c.event_id).where(processed_events.c.event_id.in_(chunk))
        )
        seen.update(r.event_id for r in result)
    fresh: dict[UUID, dict[str, Any]] = {}
    for row in claimed:
        if row["event_id"] not in seen:
            fresh.setdefault(row["event_id"], row)
    await insert_rows(conn, processed_events, list(fresh.values()), every=every)
    return set(fresh)


async def mark_rejected(conn: AsyncConnection, event_ids: Sequence[UUID]) -> None:
    """The events the rules rejected: their outcome, claimed as recorded, corrected."""
    if not event_ids:
        return
    await conn.execute(
        processed_events.update()
        .where(processed_events.c.event_id == sa.bindparam("b_event_id"))
        .values(outcome="rejected"),
        [{"b_event_id": event_id} for event_id in event_ids],
    )
