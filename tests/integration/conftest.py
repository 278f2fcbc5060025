"""Fixtures of the integration tests: engines on the session's PostgreSQL database, and a
store of a test's own for tests that need PostgreSQL's statistics to themselves."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine
from tests.conftest import PG_ADMIN_DSN
from tests.support.store import drop_database, fresh_database


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
    _, name = await fresh_database(PG_ADMIN_DSN, "hub_test_plans")
    try:
        yield name
    finally:
        await drop_database(PG_ADMIN_DSN, name)
