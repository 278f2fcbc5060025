"""Re-drive from the inbox: an acknowledged request is recorded even if its event was lost.

The inbox row holds the whole event. When an accepted request has been neither
recorded nor rejected for ``redrive_after_s`` (a broker that lost its data, a publish
that timed out after the broker took it, a consumer far behind), its stored event is
published again with the same event id; the consumer's de-duplication on event id
makes a re-drive harmless.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hub.errors import TemporarilyUnavailable
from hub.intake.ports import EventPublisher, RedriveLedger, UnrecordedRequest
from hub.observability import metrics
from hub.resilience import Outage, sleep_unless_stopped

log = logging.getLogger("hub.redrive")


class Redriver:
    """Finds accepted-but-unrecorded requests and publishes their stored events again."""

    def __init__(
        self,
        ledger: RedriveLedger,
        publisher: EventPublisher,
        after: timedelta,
        batch: int = 500,
        poll_s: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._publisher = publisher
        self._after = after
        self._batch = batch
        self._poll_s = poll_s
        self._clock = clock
        self._outage = Outage("re-drive from the inbox", log)
        self.redriven = 0
        """Events published again by this process since it started."""

    async def run(self, stop: asyncio.Event) -> None:
        """Re-drive until ``stop``; a store or broker outage is waited out."""
        while not stop.is_set():
            try:
                leased, _ = await self.redrive_due()
            except TemporarilyUnavailable as exc:
                await sleep_unless_stopped(stop, self._outage.failed(exc))
                continue
            if leased < self._batch:
                await sleep_unless_stopped(stop, self._poll_s)

    async def redrive_due(self) -> tuple[int, int]:
        """One round: (requests leased, events published again)."""
        now = self._clock()
        due = await self._ledger.lease_unrecorded(now - self._after, now, self._batch)
        if not due:
            self._outage.recovered()
            return 0, 0
        # One member's events go out in the order they were claimed, so a re-driven payment
        # never overtakes the re-driven registration it pays for; members go in parallel.
        by_member: dict[str, list[UnrecordedRequest]] = defaultdict(list)
        for request in due:
            by_member[request.member_key].append(request)
        results = await asyncio.gather(
            *(self._publish_in_order(requests) for requests in by_member.values()),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        published = sum(r for r in results if isinstance(r, int))
        self.redriven += published
        metrics.count_redrive("loop", published)
        log.warning(
            "re-drove %d accepted-but-unrecorded event(s); %d could not be published",
            published,
            len(failures),
            extra={
                "redriven": published,
                "redrive_failed": len(failures),
                "redriven_total": self.redriven,
                "event_ids": [str(r.event_id) for r in due[:20]],
            },
        )
        if failures:
            # Left accepted with a fresh timestamp: tried again after `after`.
            raise failures[0]
        self._outage.recovered()
        return len(due), published

    async def _publish_in_order(self, requests: list[UnrecordedRequest]) -> int:
        for request in requests:
            await self._publisher.publish(request.member_key, request.event_json.encode())
        return len(requests)
