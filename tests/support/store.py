"""The membership store as tests read it: asyncpg on the test's own database, bounded waits."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg


def asyncpg_dsn(database_url: str) -> str:
    """asyncpg's DSN for the hub's SQLAlchemy database URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def fresh_database(admin_dsn: str, prefix: str = "hub_test") -> tuple[str, str]:
    """A new database on ``admin_dsn``'s server, migrated to head: (SQLAlchemy URL, name)."""
    from hub.store.migrations import upgrade_to_head_async

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        await upgrade_to_head_async(url)
    except BaseException:
        await drop_database(admin_dsn, name)
        raise
    return url, name


async def drop_database(admin_dsn: str, name: str) -> None:
    """Drop ``name``, ending whatever connections it still has."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def own_database(admin_dsn: str, prefix: str = "hub_test") -> AsyncIterator[str]:
    """A fresh, migrated database for the block (its URL), dropped however the block ends."""
    url, name = await fresh_database(admin_dsn, prefix)
    try:
        yield url
    finally:
        await drop_database(admin_dsn, name)


async def fetch_rows(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """Every row of one query, on a connection of its own."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def fetch_row(database_url: str, query: str, *args: object) -> asyncpg.Record | None:
    """The first row of one query (None if there is none), on a connection of its own."""
    rows = await fetch_rows(database_url, query, *args)
    return rows[0] if rows else None


async def fetch_value(database_url: str, query: str, *args: object) -> Any:
    """The first column of the first row of one query, on a connection of its own."""
    row = await fetch_row(database_url, query, *args)
    return None if row is None else row[0]


async def wait_for_row(
    database_url: str, query: str, *args: object, within_s: float = 10.0
) -> asyncpg.Record:
    """The first row ``query`` returns once the consumer has written it (polled, bounded)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            row = await conn.fetchrow(query, *args)
            if row is not None:
                return row
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError(f"no row within {within_s} s for {query} {args}")
