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
from hub.store.packed import joined, split_text, uuid_at, uuid_bytes
from hub.store.tables import processed_events

# SQLite allows 32,766 bound parameters per statement; stay well below.
_IN_CHUNK = 900


Claim = tuple[UUID, str, int, int]
"""An event to claim: its id, its type, and the partition and offset it was read at."""

_INSERT_CLAIMS = (
    "INSERT INTO processed_events (event_id, event_type, kafka_partition, "  # noqa: S608
    f"kafka_offset, outcome, processed_at) SELECT {uuid_at('ids', 'v.n')}, v.event_type, "
    "v.kafka_partition, v.kafka_offset, 'recorded', CAST(:now AS timestamptz) "
    f"FROM unnest({split_text('types')}, CAST({split_text('partitions')} AS integer[]), "
    f"CAST({split_text('offsets')} AS bigint[])) "
    "WITH ORDINALITY AS v(event_type, kafka_partition, kafka_offset, n)"
)
"""The batch's rows, inserted in its order. The batch comes packed, a parameter a column
(``hub.store.packed``)."""

_CLAIM_ON_POSTGRESQL = sa.text(
    f"WITH claimed AS ({_INSERT_CLAIMS} "  # noqa: S608
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id) "
    "SELECT count(*) AS claimed, "
    "CASE WHEN count(*) < :given THEN array_agg(event_id) END AS ids FROM claimed"
)
"""Claims a batch and answers in one row: how many were claimed, and which, only when
not all were (a replay, or an event twice in the batch). Decoding 2,000 returned ids
cost the consumer more than the rest of the claim."""

_FIRST_SIGHT_ON_POSTGRESQL = sa.text(_INSERT_CLAIMS)
"""Claims a batch none of whose events was seen before, as almost every batch is: a plain
insert, which PostgreSQL checks against the key once a row. ``ON CONFLICT DO NOTHING``
looks for the key before it inserts and again as it does (a speculative insertion):
batches of 4,000 into 100,000 rows took 21.0-27.1 ms with it and 13.4-17.2 ms without,
ten of each, alternated (2026-12-06). A batch that fails it costs that insert, up to
where it failed, and a rollback; PostgreSQL's log shows the duplicate key as an error."""

_UNIQUE_VIOLATION = "23505"


class SeenBefore(Exception):
    """A batch claimed as a first sighting held an event claimed before, or one twice.

    The insert failed, and the transaction with it: the caller applies the batch again in
    a new transaction, claiming with ``first_sight=False``.
    """


async def claim_events(
    conn: AsyncConnection, claims: Sequence[Claim], now: datetime, first_sight: bool = False
) -> set[UUID]:
    """Insert ``claims`` as recorded; return the ids claimed now (not seen before).

    On PostgreSQL one INSERT ... ON CONFLICT DO NOTHING both finds the events seen before
    and claims the others (a concurrent consumer claiming the same id waits for this
    transaction, then sees it taken); rows go in event-id order, so two such inserts lock
    in one order. With ``first_sight`` the insert is a plain one, and an event claimed
    before (or twice in ``claims``) raises ``SeenBefore``, the transaction failed. SQLite,
    a single writer, looks first and inserts the rest, whatever ``first_sight``. Rejected
    events are marked afterwards with ``mark_rejected``.
    """
    if not claims:
        return set()
    # UUID's order, compared as ints (UUID.__lt__ is Python).
    ordered = sorted(claims, key=lambda claim: claim[0].int)
    if conn.dialect.name == "postgresql":
        ids, types, partitions, offsets = (list(column) for column in zip(*ordered, strict=True))
        packed = {
            "ids": uuid_bytes(ids),
            "types": joined(types),
            "partitions": joined(partitions),
            "offsets": joined(offsets),
            "now": now,
        }
        if first_sight:
            try:
                await conn.execute(_FIRST_SIGHT_ON_POSTGRESQL, packed)
            except sa.exc.IntegrityError as exc:
                if getattr(exc.orig, "sqlstate", None) == _UNIQUE_VIOLATION:
                    raise SeenBefore from exc
                raise
            return set(ids)
        row = (await conn.execute(_CLAIM_ON_POSTGRESQL, {**packed, "given": len(ids)})).one()
        return set(ids) if row.claimed == len(ids) else set(row.ids or ())
    seen: set[UUID] = set()
    ids = [claim[0] for claim in ordered]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        result = await conn.execute(
            sa.select(processed_events.c.event_id).where(processed_events.c.event_id.in_(chunk))
        )
        seen.update(r.event_id for r in result)
    fresh: dict[UUID, dict[str, Any]] = {}
    for event_id, event_type, partition, offset in ordered:
        if event_id not in seen:
            fresh.setdefault(
                event_id,
                {
                    "event_id": event_id,
                    "event_type": event_type,
                    "kafka_partition": partition,
                    "kafka_offset": offset,
                    "outcome": "recorded",
                    "processed_at": now,
                },
            )
    await insert_rows(conn, processed_events, list(fresh.values()))
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
