"""``copy_rows`` on PostgreSQL: a COPY inside the caller's transaction, failing as a statement.

The consumer writes members, contributions and history rows with it; its outage and
poison-event handling read SQLAlchemy's ``DBAPIError`` and its SQLSTATE, so a COPY must
fail the way a statement does.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.bulk import copy_rows
from hub.store.outage import is_transient, sqlstate

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 10, 1, 59, 30, tzinfo=UTC)


@pytest.fixture
async def probe(engine: AsyncEngine) -> AsyncIterator[sa.Table]:
    """A table of the column types the consumer copies, dropped after the test."""
    table = sa.Table(
        f"copy_rows_probe_{uuid.uuid4().hex[:12]}",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date),
        sa.Column("ref", sa.Uuid),
    )
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
    yield table
    async with engine.begin() as conn:
        await conn.run_sync(table.drop)


def _row(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"SITI {i}",
        "at": AT,
        "day": date(2026, 3, 1),
        "ref": uuid.UUID(int=i),
    } | changes


async def _stored(engine: AsyncEngine, table: sa.Table) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(sa.select(table).order_by(table.c.id))]


async def test_copied_rows_are_stored_with_their_values(
    engine: AsyncEngine, probe: sa.Table
) -> None:
    async with engine.begin() as conn:
        await copy_rows(conn, probe, [_row(1), _row(2, day=None, ref=None)])
    assert await _stored(engine, probe) == [
        (1, "SITI 1", AT, date(2026, 3, 1), uuid.UUID(int=1)),
        (2, "SITI 2", AT, None, None),
    ]


async def test_a_copy_as_first_statement_is_rolled_back_with_its_transaction(
    engine: AsyncEngine, probe: sa.Table
) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await copy_rows(conn, probe, [_row(1)])
            raise RuntimeError("the batch failed after the copy")
    assert await _stored(engine, probe) == []


@pytest.mark.parametrize(
    ("rows", "state"),
    [
        pytest.param([_row(1), _row(1)], "23505", id="a duplicate key"),
        pytest.param([_row(1, id="one")], None, id="a value of the wrong type"),
    ],
)
async def test_a_refused_row_fails_as_a_statement_would_and_is_not_worth_a_retry(
    engine: AsyncEngine, probe: sa.Table, rows: list[dict[str, Any]], state: str | None
) -> None:
    with pytest.raises(DBAPIError) as failure:
        async with engine.begin() as conn:
            await copy_rows(conn, probe, rows)
    assert sqlstate(failure.value) == state
    assert not is_transient(failure.value)
    assert await _stored(engine, probe) == []


async def test_a_connection_killed_under_the_copy_is_a_transient_failure_and_is_replaced(
    engine: AsyncEngine, probe: sa.Table
) -> None:
    with pytest.raises(DBAPIError) as failure:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
            async with engine.connect() as other:
                await other.execute(
                    sa.text("SELECT pg_terminate_backend(:pid)"),
                    {"pid": (await conn.get_raw_connection()).driver_connection.get_server_pid()},  # type: ignore[union-attr]
                )
            await copy_rows(conn, probe, [_row(1)])
    assert is_transient(failure.value)
    assert failure.value.connection_invalidated
    async with engine.begin() as conn:  # the pool hands out a working connection again
        await copy_rows(conn, probe, [_row(2)])
    assert [r[0] for r in await _stored(engine, probe)] == [2]
