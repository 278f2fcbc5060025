"""Fixtures of the integration tests: engines on the session's PostgreSQL database."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine


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
