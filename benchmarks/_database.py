"""Throw-away PostgreSQL databases on the benchmark's server, and connections to them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from benchmarks._report import run_id

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")


PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))


PG_USER = os.environ.get("BENCH_PG_USER", "postgres")


def asyncpg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@contextlib.asynccontextmanager
async def connected(database: str) -> AsyncIterator[Any]:
    """An asyncpg connection to ``database``, closed however the block ends."""
    conn = await asyncpg.connect(asyncpg_dsn(database))
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def temporary_database(prefix: str = "hub_bench") -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, dropped (connections and all) on the way out."""
    name = f"{prefix}_{run_id()}"
    async with connected("postgres") as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        async with connected("postgres") as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


INBOX_COLUMNS = (
    "partner_id",
    "kind",
    "reference",
    "request_hash",
    "event_id",
    "hub_reference",
    "member_key",
    "status",
    "event_json",
    "created_at",
    "updated_at",
)
"""The ``partner_requests`` columns of a request the hub accepted, for seeding with COPY."""
