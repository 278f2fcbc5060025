"""The migrations go down and up again on PostgreSQL and land on the tables the code uses."""

import asyncio
import uuid

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from hub.store.database import create_engine
from hub.store.migrations import alembic_config, upgrade_to_head_async
from hub.store.tables import metadata
from tests.conftest import PG_ADMIN_DSN
from tests.support.store import fetch_rows


@pytest.fixture
async def scratch_url() -> object:
    name = f"hub_migrations_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _tables(url: str) -> set[str]:
    rows = await fetch_rows(
        url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    return {r["table_name"] for r in rows}


async def test_every_migration_downgrades_to_an_empty_store_and_upgrades_again(
    scratch_url: str,
) -> None:
    await upgrade_to_head_async(scratch_url)
    at_head = await _tables(scratch_url)
    assert {"partner_requests", "members", "contributions", "processed_events"} <= at_head

    await asyncio.to_thread(command.downgrade, alembic_config(scratch_url), "base")
    assert await _tables(scratch_url) <= {"alembic_version"}

    await upgrade_to_head_async(scratch_url)
    assert await _tables(scratch_url) == at_head


async def test_head_is_exactly_the_tables_the_code_uses(scratch_url: str) -> None:
    """Alembic's own comparison finds no column, type, default, index or constraint apart."""
    await upgrade_to_head_async(scratch_url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        return list(compare_metadata(context, metadata))

    engine = create_engine(scratch_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_an_agent_issued_before_0011_has_had_its_key_since_it_was_issued(
    scratch_url: str,
) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(scratch_url), "0010")
    conn = await asyncpg.connect(scratch_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "INSERT INTO partner_agents (agent_id, partner_id, name, key_salt, issued_at,"
            " issued_by) VALUES ('prs-old', 'perisai-bali', 'Wayan', 'salt',"
            " '2026-11-02 09:30:00+08', 'ops: Dewi')"
        )
    finally:
        await conn.close()

    await upgrade_to_head_async(scratch_url)

    (row,) = await fetch_rows(
        scratch_url,
        "SELECT key_issued_at::text AS at FROM partner_agents WHERE agent_id = 'prs-old'",
    )
    assert row["at"] == "2026-11-02 01:30:00+00"
