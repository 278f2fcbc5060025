"""Engine creation: asyncpg for PostgreSQL, aiosqlite (WAL) for the embedded default."""

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, NewType

from sqlalchemy import TextClause, event, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hub.store.outage import QUERY_CANCELED, READ_ONLY_SQLSTATE, sqlstate

log = logging.getLogger(__name__)


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
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, connect_args=_tls_args(parsed)
    )
    event.listen(engine.sync_engine, "handle_error", _read_only_server_is_a_lost_connection)
    return engine


def _read_only_server_is_a_lost_connection(context: ExceptionContext) -> None:
    """A connection to a server that takes no writes is dropped, with the pool.

    After a failover (or a proxy that moved) the pool may hold connections to the old
    primary, now read-only: retrying on them would fail for good. Marked as a disconnect,
    SQLAlchemy invalidates the pool, and the next checkout reaches the new primary.
    """
    failure = context.sqlalchemy_exception
    if failure is not None and sqlstate(failure) == READ_ONLY_SQLSTATE:
        context.is_disconnect = True


def _tls_args(parsed: URL) -> dict[str, Any]:
    """No TLS to a PostgreSQL on loopback unless the URL asks for it.

    asyncpg's default (``prefer``) negotiates TLS whenever the server offers it, and
    Debian's PostgreSQL does: on loopback that encrypts bytes that never leave the host,
    costing CPU on both sides and time on every round trip. Any other host keeps the
    default, and an explicit ``ssl=`` or ``sslmode=`` in the URL always wins.
    """
    if "ssl" in parsed.query or "sslmode" in parsed.query:
        return {}
    return {"ssl": False} if _is_loopback(parsed.host) else {}


def _is_loopback(host: str | None) -> bool:
    if host is None or host == "localhost" or host.startswith("/"):
        return True  # no host: the local socket; a path: a Unix-domain socket directory
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


Autocommitted = NewType("Autocommitted", AsyncConnection)
"""A pooled connection on which every statement commits on its own (``autocommitted``)."""


@asynccontextmanager
async def autocommitted(engine: AsyncEngine) -> AsyncIterator[Autocommitted]:
    """A pooled connection on which every statement commits on its own.

    For group-committed work that is one statement (a rate-limit take, a batch of
    acknowledgements): a statement is atomic by itself, so an explicit transaction only
    adds a BEGIN and a COMMIT, two more round trips and their CPU on both sides, to
    every batch. The pool restores the default isolation when the connection returns.
    """
    async with engine.connect() as conn:
        yield Autocommitted(await conn.execution_options(isolation_level="AUTOCOMMIT"))


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement for asyncpg to run itself (``fetch_on_driver``), and the same one for
    SQLAlchemy: ``sql`` is ``clause`` compiled for asyncpg, its parameters ``$1``... in
    the order of ``names``."""

    clause: TextClause
    sql: str
    names: tuple[str, ...]


def driver_statement(clause: TextClause) -> DriverStatement:
    compiled = clause.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    return DriverStatement(clause, compiled.string, tuple(compiled.positiontup or ()))


async def fetch_on_driver(
    conn: Autocommitted, statement: DriverStatement, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of ``statement``, run by asyncpg itself on ``conn``'s connection.

    For the statement of every group-committed batch of requests: SQLAlchemy's own
    execution (its execution context, its result, the greenlet it runs the driver in)
    cost 230-250 µs of CPU a batch more than asyncpg alone, on a claim batch of ten
    (590 against 340 µs). Its rows are asyncpg's records, by position as SQLAlchemy's.

    A failure is mostly not interpreted here. The same statement runs again through
    SQLAlchemy, on the same connection, and what SQLAlchemy raises is raised: its
    exception classes (``hub.store.outage`` tells which a retry cures), its
    invalidation of a broken connection, and this engine's ``handle_error`` hook. If it
    succeeds this time, its rows are returned. So only a statement that may run twice
    goes this way (one that is idempotent), on an autocommitted connection: there is no
    transaction for the driver's statement to fall outside of. Other drivers (SQLite)
    take SQLAlchemy's way at once.

    The one failure not run again is a cancelled statement (``statement_timeout``, or an
    operator's ``pg_cancel_backend``): a second run would wait as long again before
    failing the same way. It is raised as SQLAlchemy raises it, a ``DBAPIError`` with
    its SQLSTATE (57014, which a retry may cure), on a connection still good.
    """
    if conn.dialect.driver == "asyncpg":
        pooled = await conn.get_raw_connection()
        try:
            return await pooled.driver_connection.fetch(  # type: ignore[no-any-return,union-attr]
                statement.sql, *[params[name] for name in statement.names]
            )
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == QUERY_CANCELED:
                raise DBAPIError(statement.sql, None, exc, hide_parameters=True) from exc
            log.debug("asyncpg's run failed; SQLAlchemy runs it again: %r", exc)
    return (await conn.execute(statement.clause, params)).all()


async def connect_ahead(engine: AsyncEngine, connections: int) -> None:
    """Open ``connections`` of the pool at once and leave them in it, idle.

    The statements that come first then find them made (TCP, authentication, and
    SQLAlchemy's first-connect queries), rather than each making its own while the
    others wait for the CPU. Best effort: a store that is not there yet is found out,
    and waited for, by the first statement that needs it.
    """

    async def one() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    outcomes = await asyncio.gather(*(one() for _ in range(connections)), return_exceptions=True)
    failed = [o for o in outcomes if isinstance(o, Exception)]
    if failed:
        log.debug("%d of %d connections not opened ahead: %r", len(failed), connections, failed[0])
