"""The core consumer's lookups stay index lookups while a store that started empty grows.

PostgreSQL may keep one generic plan for a statement prepared on a connection after five
runs. Planned while ``members`` was nearly empty, the lookups by NIK and KPJ became
sequential scans of the whole table, kept as it grew (until autovacuum next analysed
it). Here autovacuum is off for ``members``, as it is in the minutes before it first
comes round, and PostgreSQL's own scan counters say whether a batch read the table whole.
"""

import uuid
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.recording import IncomingEvent
from schemas.events import EventEnvelope, RegistrationSubmitted
from tests.integration.conftest import MEMBERS_INSERT, OwnStore
from tests.support.people import applicant

GROWN_BY = 30_000


def registrations(count: int, offset: int) -> list[IncomingEvent]:
    now = datetime.now(UTC)
    events = []
    for i in range(count):
        body = applicant()
        payload = RegistrationSubmitted.model_validate(
            {k: v for k, v in body.items() if k != "reference"}
            | {"programmes": tuple(body["programmes"])}
        )
        envelope = EventEnvelope(
            event_id=uuid.uuid4(),
            event_type="RegistrationSubmitted",
            channel="hub-api",
            partner_id="demo",
            partner_ref=str(body["reference"]),
            occurred_at=now,
            received_at=now,
            member_key=payload.nik,
            payload=payload,
        )
        events.append(IncomingEvent(envelope, partition=0, offset=offset + i))
    return events


async def members_read_whole(engine: AsyncEngine, admin: asyncpg.Connection) -> int:
    """Sequential scans of ``members`` so far, with the recorder's own counts flushed."""
    # The pool's one connection is the recorder's: flush what its backend counted.
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_stat_force_next_flush()"))
        await conn.commit()
    value = await admin.fetchval(
        "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'members'"
    )
    return int(value)


async def test_a_store_that_started_empty_is_not_read_whole_for_each_batch_as_it_grows(
    own_store: OwnStore,
) -> None:
    engine, admin = own_store.engine, own_store.admin
    await admin.execute("ALTER TABLE members SET (autovacuum_enabled = false)")
    recorder = own_store.recorder()
    # Enough batches for PostgreSQL to settle on a plan for each statement.
    for batch in range(8):
        result = await recorder.apply(registrations(2, offset=batch * 2))
        assert result.recorded == 2
    # Then the table grows (another process, an import), with no ANALYZE since.
    await admin.execute(
        MEMBERS_INSERT + "SELECT 90000000 + g, (9100000000000000 + g)::text, 'T' || g, 'GROWN', "
        " '1990-01-01', 'M', '+6281234567890', 'Jl. Tumbuh', 'Petani', 2000000, 'JKK,JKM',"
        " '2026-12-01', 'hub-api', 'demo', gen_random_uuid(), now(), now(), 'registration'"
        " FROM generate_series(1, $1) AS g",
        GROWN_BY,
    )
    before = await members_read_whole(engine, admin)

    result = await recorder.apply(registrations(2, offset=100))

    assert result.recorded == 2
    assert await members_read_whole(engine, admin) == before
