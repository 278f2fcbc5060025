"""Fixtures of the integration tests: engines on the session's PostgreSQL database, and a
store of a test's own for tests that need PostgreSQL's statistics to themselves."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine
from hub.store.migrations import upgrade_to_head_async
from tests.conftest import PG_ADMIN_DSN


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the session's database, disposed after the test."""
    made = create_engine(database_url)
    yield made
    await made.dispose()


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on the session's database, as two hub processes would each have."""
    made = [create_engine(database_url), create_engine(database_url)]
    yield made
    for each in made:
        await each.dispose()


@pytest.fixture
async def empty_store() -> AsyncIterator[str]:
    """A store of its own, migrated and empty, as a new deployment starts: its name."""
    name = f"hub_test_plans_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        await upgrade_to_head_async(f"{url}/{name}")
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
