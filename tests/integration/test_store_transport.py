"""How the store's engine reaches PostgreSQL: no TLS on loopback unless the URL asks."""

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import connect_ahead, create_engine

pytestmark = pytest.mark.integration

_OWN_SSL = sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[dict[str, AsyncEngine]]:
    made = {
        "default": create_engine(database_url),
        "asked for TLS": create_engine(f"{database_url}?ssl=require"),
    }
    yield made
    for engine in made.values():
        await engine.dispose()


async def test_a_loopback_store_is_reached_without_tls(engines: dict[str, AsyncEngine]) -> None:
    async with engines["default"].connect() as conn:
        assert (await conn.execute(_OWN_SSL)).scalar_one() is False


async def test_tls_asked_for_in_the_url_is_used_even_on_loopback(
    engines: dict[str, AsyncEngine],
) -> None:
    async with engines["default"].connect() as conn:
        if (await conn.execute(sa.text("SHOW ssl"))).scalar_one() != "on":
            pytest.skip("this PostgreSQL offers no TLS (Debian's clusters do, with ssl-cert)")
    async with engines["asked for TLS"].connect() as conn:
        assert (await conn.execute(_OWN_SSL)).scalar_one() is True


async def test_connections_opened_ahead_wait_idle_in_the_pool(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await connect_ahead(engine, 3)
        assert engine.pool.checkedin() == 3  # type: ignore[attr-defined]
        async with engine.connect() as conn:  # taken from the pool, not made
            assert engine.pool.checkedin() == 2  # type: ignore[attr-defined]
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_connections_not_opened_ahead_when_the_store_is_away_raise_nothing() -> None:
    engine = create_engine("postgresql+asyncpg://hub@127.0.0.1:9/nowhere")
    try:
        await connect_ahead(engine, 2)
        assert engine.pool.checkedin() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
