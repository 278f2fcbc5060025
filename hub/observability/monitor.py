"""Keeps readiness sub-checks and the shared-state gauges fresh, in the background.

``/readyz`` answers from the latest checks, so it is fast (well under 100 ms) even while
a dependency hangs; the checks themselves run every ``readiness_check_every_s`` (2 s),
each within ``readiness_timeout_s`` (2 s), so a recovered store or broker is seen as
ready again within a few seconds. Consumer lag and the store's gauges are refreshed
every ``gauges_every_s`` (10 s). Each is a setting (config/hub.toml).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.observability import metrics
from hub.observability.lag import BrokerProbe, PartitionLag
from hub.resilience import unless_stopped
from hub.settings import Settings
from hub.store.watch import flow_state, ping

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str
    checked_at: float
    took_ms: int

    def as_json(self, now: float, stale_after_s: float) -> dict[str, Any]:
        """The check as /readyz shows it; older than ``stale_after_s``, it is not ready."""
        fresh = now - self.checked_at <= stale_after_s
        return {
            "ok": self.ok and fresh,
            "detail": self.detail
            if fresh
            else f"stale: last checked {now - self.checked_at:.0f} s ago",
            "took_ms": self.took_ms,
        }


class Monitor:
    """Readiness checks (store, broker, partitions) and gauges (lag, unrecorded, callbacks)."""

    def __init__(
        self,
        engine: AsyncEngine,
        probe: BrokerProbe,
        settings: Settings,
        partitions: Callable[[], int] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._probe = probe
        self._settings = settings
        self.partitions = partitions
        """How many partitions this process's consumer holds; None in a process that does not
        consume (then readiness has no "partitions" check)."""
        self._clock = clock
        self._checks: dict[str, Check] = {}
        self._lag: list[PartitionLag] = []
        self._lag_at: float | None = None

    @property
    def lag(self) -> list[PartitionLag]:
        """The lag per partition as last read (every 10 s)."""
        return list(self._lag)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        now = time.time()
        names = ["store", "broker"] + (["partitions"] if self.partitions is not None else [])
        checks = {
            name: self._checks[name].as_json(now, self._settings.readiness_stale_after_s)
            if name in self._checks
            else {"ok": False, "detail": "not checked yet", "took_ms": 0}
            for name in names
        }
        ready = all(c["ok"] for c in checks.values())
        return ready, {"status": "ready" if ready else "unavailable", "checks": checks}

    async def check_once(self) -> None:
        """Run every readiness check once, concurrently, each within its bound."""
        await asyncio.gather(self._check("store", self._store), self._check("broker", self._broker))
        if self.partitions is not None:
            assigned = self.partitions()
            self._checks["partitions"] = Check(
                assigned > 0,
                f"{assigned} partitions assigned" if assigned else "no partitions assigned",
                time.time(),
                0,
            )

    async def _check(self, name: str, probe: Callable[[], Any]) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._settings.readiness_timeout_s):
                detail = await probe()
            ok = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said why
            ok, detail = False, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
            if name == "broker":
                await self._probe.reset()
        took = int((time.perf_counter() - started) * 1000)
        self._checks[name] = Check(ok, detail, time.time(), took)

    async def _store(self) -> str:
        await ping(self._engine)
        return "query answered"

    async def _broker(self) -> str:
        topics = await self._probe.metadata()
        return f"metadata answered ({len(topics)} topics)"

    async def refresh_gauges(self) -> None:
        """Consumer lag from the broker, unrecorded requests and callbacks from the store."""
        try:
            rows = await self._probe.lag()
        except Exception as exc:  # noqa: BLE001 - keep the last figures, say why
            log.warning("could not read consumer lag: %r", exc)
            await self._probe.reset()
        else:
            self._lag = rows
            self._lag_at = time.time()
            for row in rows:
                metrics.CONSUMER_LAG.labels(row.topic, str(row.partition)).set(row.lag)
            metrics.LAG_REFRESHED.set(self._lag_at)
        try:
            state = await flow_state(self._engine)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not read the store's flow state: %r", exc)
            return
        now = self._clock()
        metrics.UNRECORDED_REQUESTS.set(state.unrecorded)
        metrics.OLDEST_UNRECORDED_SECONDS.set(
            0
            if state.oldest_unrecorded_at is None
            else max((now - state.oldest_unrecorded_at).total_seconds(), 0)
        )
        for status in ("pending", "delivered", "failed"):
            metrics.CALLBACKS.labels(status).set(state.callbacks.get(status, 0))
        metrics.OLDEST_UNDELIVERED_CALLBACK_SECONDS.set(
            0
            if state.oldest_undelivered_at is None
            else max((now - state.oldest_undelivered_at).total_seconds(), 0)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Check, and refresh the gauges, each at its configured pace until ``stop`` is set."""
        every = self._settings
        try:
            await asyncio.gather(
                self._every(every.readiness_check_every_s, self.check_once, stop),
                self._every(every.gauges_every_s, self.refresh_gauges, stop),
            )
        finally:
            await self._probe.close()

    @staticmethod
    async def _every(
        period_s: float, job: Callable[[], Coroutine[Any, Any, None]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            # A check held up by a dependency that does not answer never delays a stop.
            await unless_stopped(stop, job())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period_s)
