"""Many rows in one statement: PostgreSQL gets column arrays (unnest) or COPY, others
executemany."""

import functools
import operator
from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_rows(
    conn: AsyncConnection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
) -> list[Any]:
    """Insert ``rows`` (all with the same keys); return the ``returning`` columns of new rows.

    With ``skip_conflicts_on``, a row clashing on that unique key is skipped, not an error.
    """
    if not rows:
        return []
    names = tuple(rows[0])
    if conn.dialect.name == "postgresql":
        statement = _unnest_insert(table, names, skip_conflicts_on, returning)
        result = await conn.execute(statement, {n: [row[n] for row in rows] for n in names})
    else:
        insert = sqlite.insert(table)
        if skip_conflicts_on:
            insert = insert.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if returning:
            insert = insert.returning(*(table.c[n] for n in returning))  # type: ignore[assignment]
        result = await conn.execute(insert, list(rows))
    return list(result) if returning else []


async def copy_rows(conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) as they are: no conflict handling, nothing
    returned. PostgreSQL gets a binary COPY in the connection's transaction; others get
    ``insert_rows``.

    For the consumer's large batches: asyncpg encodes a COPY's rows by column type, where
    the arrays of ``insert_rows`` cost a check per element; a batch of 2,000 members took
    half the Python and half the time. A failure is raised as SQLAlchemy's ``DBAPIError``
    with asyncpg's error as ``orig``, as a statement's would be, so ``hub.store.outage``
    reads its SQLSTATE. On a connection the store dropped, the transaction's rollback is
    what fails, as SQLAlchemy's own transient, invalidating error.
    """
    if not rows:
        return
    names = tuple(rows[0])
    # itemgetter of several names gives each row's tuple without a loop in Python.
    values = operator.itemgetter(*names)
    records = list(map(values, rows)) if len(names) > 1 else [(values(row),) for row in rows]
    await copy_records(conn, table, names, records)


async def copy_records(
    conn: AsyncConnection,
    table: sa.Table,
    names: tuple[str, ...],
    records: Sequence[tuple[Any, ...]],
) -> None:
    """``copy_rows`` for rows already as tuples of the columns ``names``, in that order."""
    if not records:
        return
    if conn.dialect.name != "postgresql":
        await insert_rows(conn, table, [dict(zip(names, r, strict=True)) for r in records])
        return
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection has its driver's
    if not driver.is_in_transaction():
        # SQLAlchemy begins on the first statement: the COPY must not run before it.
        await conn.execute(sa.text("SELECT 1"))
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=names)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, TypeError, ValueError) as exc:
        # TypeError, ValueError: a value asyncpg cannot encode for its column, which a
        # statement's parameters report as a DataError.
        statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT binary)"
        raise DBAPIError(statement, None, exc) from exc


async def update_by_id(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]], **every: Any
) -> None:
    """Update each row of ``table`` whose ``id`` is a row's ``"id"`` with that row's other
    values (all rows with the same keys), and ``every`` on all of them, in one executemany."""
    if not rows:
        return
    names = [n for n in rows[0] if n != "id"]
    # Bound as b_<column>: a bind parameter may not share its name with a column here.
    await conn.execute(
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values({n: sa.bindparam(f"b_{n}") for n in names} | every),
        [{f"b_{n}": v for n, v in row.items()} for row in rows],
    )


@functools.lru_cache(maxsize=64)
def _unnest_insert(
    table: sa.Table,
    names: tuple[str, ...],
    skip_conflicts_on: tuple[str, ...],
    returning: tuple[str, ...],
) -> sa.TextClause:
    # One SQL text per shape, so asyncpg prepares it once, whatever the batch size.
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(f"CAST(:{n} AS {table.c[n].type.compile(dialect=dialect)}[])" for n in names)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"  # noqa: S608
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return sa.text(sql)
