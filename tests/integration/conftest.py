"""Fixtures of the integration tests: engines on the session's PostgreSQL database, and a
store of a test's own for tests that need PostgreSQL's statistics to themselves."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import coverage_rules, schedule_from
from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.recording import RecordingService
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


MEMBERS_INSERT = (
    "INSERT INTO members (id, nik, kpj, full_name, birth_date, sex, phone, address,"
    " occupation, declared_income, programmes, registered_month, registered_channel,"
    " registered_partner, registration_event_id, created_at, updated_at, source) "
)
"""The start of an ``INSERT INTO members ... SELECT`` of members written behind the hub's
back (an import, another process): the columns without a default."""


@dataclass(frozen=True)
class OwnStore:
    """A store of the test's own: the hub's engine on it (one connection) and a plain
    asyncpg connection to look at it with."""

    engine: AsyncEngine
    admin: asyncpg.Connection

    def recorder(self) -> RecordingService:
        """The core consumer's recording service on this store, with the default rules."""
        settings = load_settings()
        return RecordingService(self.engine, schedule_from(settings), coverage_rules(settings))


@pytest.fixture
async def own_store(empty_store: str) -> AsyncIterator[OwnStore]:
    server = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = server.replace("postgresql://", "postgresql+asyncpg://")
    engine = create_engine(f"{url}/{empty_store}", pool_size=1)
    admin = await asyncpg.connect(f"{server}/{empty_store}")
    try:
        yield OwnStore(engine, admin)
    finally:
        await admin.close()
        await engine.dispose()
