"""Engine creation: asyncpg for PostgreSQL, aiosqlite (WAL) for the embedded default."""

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so API and consumer share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # No pool_pre_ping: it cost a BEGIN and a ROLLBACK on every checkout (PostgreSQL counted
    # as many rollbacks as commits under load). A connection the store dropped is found out
    # by its first statement; SQLAlchemy invalidates the pool and the callers that may
    # repeat their block do so (hub.store.outage.reconnected), the others answer 503.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)


def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
