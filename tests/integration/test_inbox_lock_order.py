"""The API's acknowledgements and the consumer's outcomes lock inbox rows in one order.

Both change the status of many inbox rows in one statement, often of the same rows at
the same moment (a request acknowledged while the consumer records its event). Two
statements that each lock some of the rows the other wants, in opposite orders, deadlock:
PostgreSQL finds it after a second and cancels one of them. So both lock in event id
order. The rows here are numbered in the opposite order of their event ids (and stored in
the order of their numbers), so that a statement locking in id order, or in the order the
rows lie in the table, takes them in the opposite order from one locking by event id.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger, record_outcomes
from hub.store.tables import partner_requests
from tests.conftest import PG_ADMIN_DSN
from tests.support.store import drop_database, fresh_database

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)

EVENT_IDS = {
    1: UUID("ffffffff-0000-4000-8000-000000000001"),
    2: UUID("88888888-0000-4000-8000-000000000002"),
    3: UUID("11111111-0000-4000-8000-000000000003"),
}
"""Inbox row id -> its event id: the highest id has the lowest event id."""

FIRST_BY_EVENT_ID = 3
"""The row a statement locking in event id order takes first (and one in id order last)."""


@pytest.fixture
async def store() -> AsyncIterator[tuple[AsyncEngine, asyncpg.Connection]]:
    """A store of its own holding the three rows, pending; and a connection as its admin."""
    url, name = await fresh_database(PG_ADMIN_DSN, "hub_test_lock_order")
    engine = create_engine(url)
    admin = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}")
    try:
        for row_id, event_id in sorted(EVENT_IDS.items()):
            await admin.execute(
                "INSERT INTO partner_requests (id, partner_id, kind, reference, request_hash,"
                " event_id, hub_reference, member_key, status, event_json, created_at,"
                " updated_at) VALUES ($1, 'bri', 'registration', $2, repeat('0', 64), $3,"
                " $4, $5, 'pending', '{}', $6, $6)",
                row_id,
                f"REF-{row_id}",
                event_id,
                f"HUB-{row_id}",
                f"{row_id:016d}",
                AT,
            )
        yield engine, admin
    finally:
        await admin.close()
        await engine.dispose()
        await drop_database(PG_ADMIN_DSN, name)


@asynccontextmanager
async def _holding_the_first_row(
    engine: AsyncEngine,
) -> AsyncIterator[Callable[[], Coroutine[Any, Any, None]]]:
    """Another transaction holding ``FIRST_BY_EVENT_ID`` locked; yields how to let it go."""
    holder = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{engine.url.database}")
    try:
        hold = holder.transaction()
        await hold.start()
        await holder.execute(
            "SELECT 1 FROM partner_requests WHERE id = $1 FOR UPDATE", FIRST_BY_EVENT_ID
        )
        yield hold.rollback
    finally:
        await holder.close()


async def _until_waiting(admin: asyncpg.Connection, statement_start: str) -> None:
    """Until a statement starting with ``statement_start`` waits for a row lock."""
    for _ in range(500):
        # Outside a transaction block: each look gets a fresh pg_stat_activity.
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND starts_with(query, $1)",
            statement_start,
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {statement_start!r} came to wait for the held row within 5 s")


async def _locked_by_someone(admin: asyncpg.Connection, row_ids: list[int]) -> list[int]:
    """Which of ``row_ids`` another transaction holds locked (each tried without waiting)."""
    held = []
    for row_id in row_ids:
        async with admin.transaction():
            try:
                await admin.execute(
                    "SELECT 1 FROM partner_requests WHERE id = $1 FOR UPDATE NOWAIT", row_id
                )
            except asyncpg.LockNotAvailableError:
                held.append(row_id)
    return held


async def _statuses(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(partner_requests.c.id, partner_requests.c.status))
        return {row.id: row.status for row in rows}


async def _recording(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await record_outcomes(
            conn,
            [(event_id, "recorded", f"KPJ{n}", None) for n, event_id in EVENT_IDS.items()],
            AT,
        )


async def _acknowledging(engine: AsyncEngine) -> None:
    ledger = SqlRequestLedger(engine)
    for event_id in EVENT_IDS.values():
        await ledger.mark_accepted(event_id, AT)
    await ledger.flush()


OUTCOMES = "WITH given AS MATERIALIZED"
ACKNOWLEDGEMENTS = "\n  UPDATE partner_requests r SET status = 'accepted'"
"""How each statement's text begins (the activity's text is cut at 1 kB)."""


@pytest.mark.parametrize(
    ("write", "starts_with", "then"),
    [(_recording, OUTCOMES, "recorded"), (_acknowledging, ACKNOWLEDGEMENTS, "accepted")],
    ids=["outcomes", "acknowledgements"],
)
async def test_a_batch_status_update_locks_the_inbox_rows_in_event_id_order(
    store: tuple[AsyncEngine, asyncpg.Connection],
    write: Callable[[AsyncEngine], Coroutine[Any, Any, None]],
    starts_with: str,
    then: str,
) -> None:
    engine, admin = store
    async with _holding_the_first_row(engine) as let_go:
        writing = asyncio.create_task(write(engine))
        await _until_waiting(admin, starts_with)

        # Waiting for the row of the lowest event id, it has locked no other row yet.
        assert await _locked_by_someone(admin, [1, 2]) == []
        await let_go()
        await asyncio.wait_for(writing, 10)
    assert await _statuses(engine) == {1: then, 2: then, 3: then}


async def test_acknowledgements_and_outcomes_of_the_same_requests_at_once_never_deadlock(
    store: tuple[AsyncEngine, asyncpg.Connection],
) -> None:
    engine, admin = store
    # Both statements are made to run at the same moment: each waits for the same held
    # row, and they go on together once it is let go.
    async with _holding_the_first_row(engine) as let_go:
        recording = asyncio.create_task(_recording(engine))
        await _until_waiting(admin, OUTCOMES)
        acknowledging = asyncio.create_task(_acknowledging(engine))
        await _until_waiting(admin, ACKNOWLEDGEMENTS)
        await let_go()
        # A deadlock would cancel one of them (SQLSTATE 40P01), raised here.
        await asyncio.wait_for(asyncio.gather(recording, acknowledging), 10)
    # Whichever went first, a status only moves forward: recorded stays recorded.
    assert await _statuses(engine) == {1: "recorded", 2: "recorded", 3: "recorded"}
