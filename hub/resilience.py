"""Background loops that outlive their dependencies: wait out outages, log state changes once.

A store or broker outage must never stop a hub process (only a signal does), and an
operator reading the log wants one line when a dependency goes away and one when it
comes back, not one per retry.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("hub.resilience")


class Outage:
    """Tracks whether one dependency, as seen by one loop, is down; logs only the changes."""

    def __init__(self, what: str, logger: logging.Logger = log) -> None:
        self.what = what
        self.failures = 0
        self._log = logger

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> float:
        """Note a failure; return how long to wait before trying again (exponential, <= 10 s)."""
        self.failures += 1
        if self.failures == 1:
            self._log.warning("%s unavailable, waiting it out: %r", self.what, exc)
        return float(min(10.0, 0.2 * 2.0 ** min(self.failures - 1, 6)))

    def recovered(self) -> None:
        if self.failures:
            self._log.warning("%s available again after %d failed tries", self.what, self.failures)
        self.failures = 0


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end, or cancel it as soon as ``stop`` is set."""
    job = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([job, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not job.done():
            job.cancel()
            await asyncio.wait([job])
    if not job.cancelled():
        job.result()


async def supervised(
    name: str, run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Run ``run(stop)`` until ``stop`` is set, starting it again after any failure.

    A loop that lets an exception escape has met something its own retries did not
    expect; the process keeps serving and the loop comes back after a backoff.
    """
    failures = 0
    while not stop.is_set():
        try:
            await run(stop)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            log.exception("%s stopped unexpectedly (failure %d); starting it again", name, failures)
            await sleep_unless_stopped(stop, float(min(30.0, 0.5 * 2.0 ** min(failures - 1, 6))))
