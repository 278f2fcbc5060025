"""Which store failures a retry can cure, and how the store's users are told.

A failure a retry can cure (the database unreachable, a connection dropped, a deadlock
or serialization failure between concurrent transactions) must never be treated as a
bad request or a poison event: partners get a 503-style "try again" and background
loops wait it out. Anything else is a real refusal by the store.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_none,
)
from tenacity.wait import wait_base

from hub.errors import StoreUnavailable

T = TypeVar("T")

LOCK_RACE_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
    }
)
"""Lost a race with a concurrent transaction: running it again is the cure."""

TRANSIENT_SQLSTATES = LOCK_RACE_SQLSTATES | frozenset(
    {
        "53000",  # insufficient_resources
        "53100",  # disk_full
        "53200",  # out_of_memory
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, shutting down)
        "57P05",  # idle_session_timeout
        "57014",  # query_canceled: statement_timeout, or an operator's pg_cancel_backend
        "25P03",  # idle_in_transaction_session_timeout
        "25006",  # read_only_sql_transaction: a failover, or read-only for maintenance
        "08000",  # connection_exception
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08003",  # connection_does_not_exist
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
        "08006",  # connection_failure
        "08007",  # transaction_resolution_unknown
        "58030",  # io_error: the store's disk failed a read or a write
        "XX001",  # data_corrupted: mended by restoring the page, not by other data
        "XX002",  # index_corrupted: mended by REINDEX
    }
)
"""SQLSTATEs that say "not now" rather than "not this": the store's state, not the data,
refused the statement, and the same statement succeeds once an operator or the store
itself has mended that state. The consumer must never take one for a poison event: it
would dead-letter, and reject, every event that meets the store in that state (a full
disk or a read-only store refuses them all). A corrupted index or a failing disk stalls
the consumer instead, which the lag and oldest-unrecorded-request alerts show, until an
operator mends the store: no valid request is rejected for it. 08P01 (protocol
violation) is missing on purpose: asyncpg raises it for data the store cannot hold,
such as NUL."""

QUERY_CANCELED = "57014"
"""A statement ran past ``statement_timeout`` (or an operator cancelled it)."""

READ_ONLY_SQLSTATE = "25006"
"""The server this connection reached takes no writes: after a failover the pool may
still hold connections to the old primary, so such a connection is dropped like a
broken one (``hub.store.database``) and the next checkout connects afresh."""


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE behind a SQLAlchemy error, if the driver gave one."""
    orig = getattr(exc, "orig", None)
    for source in (orig, getattr(orig, "__cause__", None)):
        code = getattr(source, "sqlstate", None) or getattr(source, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_transient(exc: BaseException) -> bool:
    """True when the same statement may well succeed if tried again a little later."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or sqlstate(exc) in TRANSIENT_SQLSTATES
    return isinstance(exc, asyncio.IncompleteReadError)


def broken_connection(exc: BaseException) -> bool:
    """The statement failed because its pooled connection was dead (the store restarted).

    SQLAlchemy then invalidates the pool: the next checkout connects afresh.
    """
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass(frozen=True)
class Retries:
    """Which failures of a block are tried again, how many tries in all, and the pause
    before each new one (tenacity's wait)."""

    worth: Callable[[BaseException], bool]
    tries: int
    pause: wait_base = field(default_factory=wait_none)

    def retrying(self, tries: int | None = None) -> AsyncRetrying:
        """tenacity's loop for this policy (``tries`` in all, if given)."""
        return AsyncRetrying(
            retry=retry_if_exception(self.worth),
            stop=stop_after_attempt(self.tries if tries is None else tries),
            wait=self.pause,
            reraise=True,
        )

    async def run(self, block: Callable[[], Awaitable[T]]) -> T:
        """``block()``, tried again as this policy says; the last failure is raised.

        The first try runs without tenacity: its loop, made for every call, cost 25 µs
        of CPU and left a reference cycle of about 30 objects (a concurrent ``Future``
        with its lock among them) for the garbage collector each time, and the claims,
        acknowledgements and rate limits of every batch of requests went through one.
        tenacity takes over from the first failure worth another try.
        """
        try:
            return await block()
        except Exception as exc:
            if self.tries < 2 or not self.worth(exc):
                raise
        again = self.retrying(self.tries - 1)
        await asyncio.sleep(self.pause(RetryCallState(again, None, (), {})))
        async for attempt in again:
            with attempt:
                return await block()
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover


RECONNECTED = Retries(broken_connection, tries=2)
"""Run a block again when its pooled connection turned out to be broken.

The engine has no ``pool_pre_ping`` (a BEGIN and a ROLLBACK on every checkout, one round
trip per batch for nothing): a connection the store dropped is found out by the first
statement on it instead, and the block simply runs again. Only for blocks that are safe
to repeat (reads, idempotent writes)."""


def reconnected(tries: int = 2) -> AsyncRetrying:
    """tenacity's loop of ``RECONNECTED`` (``tries`` in all)."""
    return RECONNECTED.retrying(tries)


@contextlib.asynccontextmanager
async def store_call(what: str) -> AsyncIterator[None]:
    """Turn a transient store failure inside the block into ``StoreUnavailable`` (a 503)."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise StoreUnavailable(
                f"the membership store is unavailable ({what}); retry with the same reference"
            ) from exc
        raise


def as_partner_error(exc: Exception) -> Exception:
    """What a partner is told of an unexpected failure: "try again" if a retry can cure it."""
    if is_transient(exc) and not isinstance(exc, StoreUnavailable):
        unavailable = StoreUnavailable("the membership store is unavailable; retry")
        unavailable.__cause__ = exc
        return unavailable
    return exc
