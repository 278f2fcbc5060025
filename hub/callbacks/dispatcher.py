"""Delivers the callback outbox to partners, with exponential backoff for up to 24 hours.

The core consumer only writes outbox rows (in its own transaction), so a slow or
failing partner endpoint never slows it. The dispatcher leases due deliveries
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several hub processes share the
work), makes one attempt each with bounded concurrency, stores every attempt and
its outcome, and schedules the next attempt with tenacity's exponential wait.
The schedule lives in the table, so a restart resumes where it stopped.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import RetryCallState, wait_exponential

from hub.observability import metrics
from hub.resilience import Outage, sleep_unless_stopped
from hub.signing import callback_headers
from hub.store.outage import is_transient
from hub.store.tables import callback_attempts, callback_deliveries

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
"""How long a leased delivery is ours; a crashed dispatcher's leases expire after this."""


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Timeouts and backoff, from config (callback_*)."""

    timeout_s: float
    initial_backoff_s: float
    max_backoff_s: float
    concurrency: int
    poll_s: float


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    notification_id: str
    partner_id: str
    url: str
    body: str
    attempts: int
    give_up_at: datetime
    reference: str = ""


class Backoff:
    """tenacity's exponential wait (no jitter: the schedule is stored and shown to operators)."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._wait = wait_exponential(multiplier=initial_s, min=initial_s, max=max_s)

    def after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: initial, 2x, 4x ... up to max."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempts
        return timedelta(seconds=self._wait(state))


class CallbackDispatcher:
    """Runs until stopped, delivering due callbacks; each attempt is signed with version 2."""

    def __init__(
        self,
        engine: AsyncEngine,
        secrets: Mapping[str, str],
        policy: DeliveryPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._engine = engine
        self._secrets = secrets
        self._policy = policy
        self._clock = clock
        self._backoff = Backoff(policy.initial_backoff_s, policy.max_backoff_s)
        self._postgres = engine.dialect.name == "postgresql"
        self._http = httpx.AsyncClient(timeout=policy.timeout_s, transport=transport)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._outage = Outage("the membership store (callback dispatcher)", log)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``; a store outage is waited out, never the end of the loop."""
        try:
            while not stop.is_set():
                free = self._policy.concurrency - len(self._in_flight)
                try:
                    leased = await self._lease(free) if free > 0 else []
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    await sleep_unless_stopped(stop, self._outage.failed(exc))
                    continue
                self._outage.recovered()
                for delivery in leased:
                    task = asyncio.create_task(self._attempt(delivery))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                if len(leased) < free or free <= 0:
                    await sleep_unless_stopped(stop, self._policy.poll_s)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._http.aclose()

    async def deliver_due(self) -> int:
        """One round: lease what is due, attempt each, wait for them. For tests and tools."""
        leased = await self._lease(self._policy.concurrency)
        await asyncio.gather(*(self._attempt(d) for d in leased))
        return len(leased)

    async def _lease(self, limit: int) -> list[Delivery]:
        now = self._clock()
        due = sa.and_(
            callback_deliveries.c.status == "pending",
            callback_deliveries.c.next_attempt_at <= now,
            sa.or_(
                callback_deliveries.c.lease_until.is_(None),
                callback_deliveries.c.lease_until < now,
            ),
        )
        pick = (
            sa.select(callback_deliveries.c.id)
            .where(due)
            .order_by(callback_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        if self._postgres:
            pick = pick.with_for_update(skip_locked=True)
        async with self._engine.begin() as conn:
            rows = await conn.execute(
                callback_deliveries.update()
                .where(callback_deliveries.c.id.in_(pick.scalar_subquery()))
                .values(lease_until=now + LEASE)
                .returning(
                    callback_deliveries.c.id,
                    callback_deliveries.c.notification_id,
                    callback_deliveries.c.partner_id,
                    callback_deliveries.c.url,
                    callback_deliveries.c.body,
                    callback_deliveries.c.attempts,
                    callback_deliveries.c.give_up_at,
                    callback_deliveries.c.reference,
                )
            )
            return [
                Delivery(
                    r.id,
                    str(r.notification_id),
                    r.partner_id,
                    r.url,
                    r.body,
                    r.attempts,
                    _aware(r.give_up_at),
                    r.reference,
                )
                for r in rows
            ]

    async def _attempt(self, delivery: Delivery) -> None:
        started = time.monotonic()
        at = self._clock()
        status: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(
                delivery.url, content=delivery.body.encode(), headers=self._headers(delivery)
            )
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - one bad URL must not kill the dispatcher
            error = f"{type(exc).__name__}: {exc}"
        took_ms = int((time.monotonic() - started) * 1000)
        try:
            await self._record(delivery, at, took_ms, status, error)
        except Exception as exc:
            if not is_transient(exc):
                raise
            # The attempt is not stored; the lease runs out and the delivery is tried again.
            log.warning(
                "callback %s: could not store the attempt (%r); retried after the lease",
                delivery.notification_id,
                exc,
            )

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        timestamp = str(int(self._clock().timestamp()))
        secret = self._secrets.get(delivery.partner_id, "")
        return callback_headers(
            secret,
            delivery.url,
            delivery.partner_id,
            delivery.notification_id,
            timestamp,
            delivery.body.encode(),
        )

    async def _record(
        self,
        delivery: Delivery,
        at: datetime,
        took_ms: int,
        http_status: int | None,
        error: str | None,
    ) -> None:
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "lease_until": None, "last_error": error}
        ids = {"partner_id": delivery.partner_id, "reference": delivery.reference}
        if error is None:
            values.update(status="delivered", delivered_at=at)
            metrics.CALLBACK_ATTEMPTS.labels("delivered").inc()
        else:
            next_at = self._clock() + self._backoff.after(attempts)
            if next_at > delivery.give_up_at:
                values.update(status="failed")
                metrics.CALLBACK_ATTEMPTS.labels("failed").inc()
                log.error(
                    "callback %s to %s given up after %d attempts: %s",
                    delivery.notification_id,
                    delivery.partner_id,
                    attempts,
                    error,
                    extra=ids,
                )
            else:
                values.update(next_attempt_at=next_at)
                metrics.CALLBACK_ATTEMPTS.labels("retry").inc()
        async with self._engine.begin() as conn:
            await conn.execute(
                callback_attempts.insert().values(
                    delivery_id=delivery.id,
                    attempt=attempts,
                    attempted_at=at,
                    duration_ms=took_ms,
                    http_status=http_status,
                    error=error,
                )
            )
            await conn.execute(
                callback_deliveries.update()
                .where(callback_deliveries.c.id == delivery.id)
                .values(**values)
            )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
