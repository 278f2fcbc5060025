"""A statement asyncpg runs itself (``fetch_on_driver``) answers as SQLAlchemy would.

Its rows are SQLAlchemy's rows, value for value; and when it fails, what is raised is
what SQLAlchemy raises for that failure, so that the store's outage rules (a retry, a
503, a fresh connection) treat it as before.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store.database import autocommitted, driver_statement, fetch_on_driver
from hub.store.outage import is_transient, sqlstate

pytestmark = pytest.mark.integration

_ROWS = driver_statement(
    sa.text(
        "SELECT v.id, v.at, v.day, v.amount, v.note, CAST(:flag AS boolean) AS flag "
        "FROM unnest(CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[]), "
        "CAST(:days AS date[]), CAST(:amounts AS bigint[]), CAST(:notes AS text[])) "
        "WITH ORDINALITY AS v(id, at, day, amount, note, n) ORDER BY v.n"
    )
)
_PARAMS: dict[str, Any] = {
    "ids": [uuid.UUID(int=7), uuid.UUID(int=8)],
    "ats": [datetime(2026, 3, 10, 3, 4, 5, 678_901, tzinfo=UTC), None],
    "days": [date(2026, 3, 10), date(2026, 2, 28)],
    "amounts": [16_800, 5_000_000_000],
    "notes": ["Kantor Pos", None],
    "flag": True,
}


async def test_the_driver_gives_the_rows_sqlalchemy_gives_value_for_value(
    engine: AsyncEngine,
) -> None:
    async with autocommitted(engine) as conn:
        driven = await fetch_on_driver(conn, _ROWS, _PARAMS)
        through_sqlalchemy = (await conn.execute(_ROWS.clause, _PARAMS)).all()

    assert [tuple(row) for row in driven] == [tuple(row) for row in through_sqlalchemy]
    assert [tuple(row) for row in driven] == [
        (uuid.UUID(int=7), datetime(2026, 3, 10, 3, 4, 5, 678_901, tzinfo=UTC),
         date(2026, 3, 10), 16_800, "Kantor Pos", True),
        (uuid.UUID(int=8), None, date(2026, 2, 28), 5_000_000_000, None, True),
    ]  # fmt: skip


async def test_the_driver_runs_it_without_sqlalchemys_execution(engine: AsyncEngine) -> None:
    executed: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with autocommitted(engine) as conn:
            await fetch_on_driver(conn, _ROWS, _PARAMS)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert [s for s in executed if "unnest" in s] == []


@asynccontextmanager
async def _run_counter(conn: AsyncConnection) -> AsyncIterator[str]:
    """A sequence of its own for a statement to count its runs in with ``nextval``, which
    neither a failure nor a cancel undoes; dropped afterwards."""
    sequence = f"driver_runs_{uuid.uuid4().hex[:8]}"
    await conn.execute(sa.text(f"CREATE SEQUENCE {sequence}"))
    try:
        yield sequence
    finally:
        await conn.execute(sa.text(f"DROP SEQUENCE {sequence}"))


async def _runs(conn: AsyncConnection, sequence: str) -> int:
    """How often ``nextval`` was called on ``sequence``: 0 until it first is."""
    counted = sa.text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
    return int(await conn.scalar(counted))


async def test_a_failure_of_the_driver_alone_is_mended_by_sqlalchemys_run(
    engine: AsyncEngine,
) -> None:
    async with autocommitted(engine) as conn, _run_counter(conn) as sequence:
        fails_first = driver_statement(
            sa.text(
                # 1 / 0 on its first run (nextval 1), the answer on the next ones
                f"SELECT CAST(:answer AS int) + 0 * (1 / (nextval('{sequence}') - 1))"
            )
        )
        rows = await fetch_on_driver(conn, fails_first, {"answer": 42})
        runs = await _runs(conn, sequence)
    assert [tuple(row) for row in rows] == [(42,)]
    assert runs == 2


async def test_a_refused_statement_is_raised_as_sqlalchemy_raises_it(engine: AsyncEngine) -> None:
    refused = driver_statement(sa.text("SELECT 1 / CAST(:zero AS int)"))
    async with autocommitted(engine) as conn:
        with pytest.raises(DBAPIError) as raised:
            await fetch_on_driver(conn, refused, {"zero": 0})
    assert sqlstate(raised.value) == "22012"  # division_by_zero
    assert not raised.value.connection_invalidated
    assert not is_transient(raised.value)


async def test_a_broken_connection_is_raised_as_lost_and_the_next_checkout_is_fresh(
    engine: AsyncEngine,
) -> None:
    async with autocommitted(engine) as conn:
        backend = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        async with autocommitted(engine) as other:
            await other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(DBAPIError) as raised:
            await fetch_on_driver(conn, _ROWS, _PARAMS)
    assert raised.value.connection_invalidated
    assert is_transient(raised.value)

    async with autocommitted(engine) as conn:
        assert await conn.scalar(sa.text("SELECT pg_backend_pid()")) != backend
        assert len(await fetch_on_driver(conn, _ROWS, _PARAMS)) == 2


async def test_a_statement_past_its_timeout_runs_once_and_is_raised_as_sqlalchemy_raises_it(
    engine: AsyncEngine,
) -> None:
    """Run again, a cancelled statement would wait out ``statement_timeout`` a second time."""
    async with autocommitted(engine) as conn, _run_counter(conn) as sequence:
        await conn.execute(sa.text("SET statement_timeout = 100"))
        slow = driver_statement(
            sa.text(f"SELECT nextval('{sequence}'), pg_sleep(CAST(:seconds AS float))")
        )
        with pytest.raises(DBAPIError) as raised:
            await fetch_on_driver(conn, slow, {"seconds": 5})
        await conn.execute(sa.text("RESET statement_timeout"))
        runs = await _runs(conn, sequence)
        still_good = await conn.scalar(sa.text("SELECT 1"))
    assert runs == 1
    assert sqlstate(raised.value) == "57014"  # query_canceled
    assert is_transient(raised.value)
    assert not raised.value.connection_invalidated
    assert still_good == 1
