"""Inquiries by NIK: a tighter rate limit, and an alert when a partner harvests members.

A NIK is structured (province, birth date, serial), so an inquiry answered with a
KPJ, a payment code and a masked name for any NIK would let a partner map the
membership. Inquiries by NIK therefore have their own bucket (``inquiry_by_nik``),
and a partner that inquires many distinct NIKs it then never pays for within
``window_s`` raises an operator alert: the ``hub_nik_harvest_alerts_total``
counter, the ``hub_inquired_unpaid_niks`` gauge and one warning log line per
window. NIKs are kept only as keyed hashes, never in clear, and never logged.
"""

import hashlib
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from hub.errors import RateLimited
from hub.limits.buckets import Limiter
from hub.settings import RateLimit

log = logging.getLogger("hub.intake.harvest")

HARVEST_ALERTS = Counter(
    "hub_nik_harvest_alerts_total",
    "Times a partner inquired more distinct NIKs than it paid for, over the alert threshold",
    ["partner"],
)
UNPAID_NIKS = Gauge(
    "hub_inquired_unpaid_niks",
    "Distinct NIKs a partner inquired within the harvest window and has not paid for",
    ["partner"],
)


@dataclass
class _Watch:
    unpaid: OrderedDict[bytes, float] = field(default_factory=OrderedDict)
    """NIK hash -> when it was last inquired (oldest first)."""
    alerted_at: float | None = None


class InquiryWatch:
    """Per partner: the NIK-inquiry bucket, and the NIKs it inquired but did not pay."""

    def __init__(
        self,
        limiter: Limiter,
        limit_of: Callable[[str], RateLimit],
        window_s: float,
        unpaid_niks_alert: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = limiter
        self._limit_of = limit_of
        self._window_s = window_s
        self._threshold = unpaid_niks_alert
        self._clock = clock
        self._key = secrets.token_bytes(16)
        self._watches: dict[str, _Watch] = {}

    async def inquired(self, partner_id: str, nik: str) -> None:
        """Take from the partner's NIK-inquiry bucket (``RateLimited`` when empty), then note it."""
        limit = self._limit_of(partner_id)
        wait_s = await self._limiter.take(f"{partner_id}|inquiry_by_nik", limit)
        if wait_s > 0:
            raise RateLimited(
                f"more than {limit.per_s:g} inquiries by NIK a second (burst {limit.burst})",
                retry_after_s=max(1, math.ceil(wait_s)),
            )
        now = self._clock()
        watch = self._watches.setdefault(partner_id, _Watch())
        digest = self._digest(nik)
        watch.unpaid.pop(digest, None)
        watch.unpaid[digest] = now
        self._expire(watch, now)
        UNPAID_NIKS.labels(partner_id).set(len(watch.unpaid))
        if len(watch.unpaid) >= self._threshold and (
            watch.alerted_at is None or now - watch.alerted_at >= self._window_s
        ):
            watch.alerted_at = now
            HARVEST_ALERTS.labels(partner_id).inc()
            log.warning(
                "possible NIK harvesting: partner %s inquired %d distinct NIKs in the last %d s "
                "without paying for them",
                partner_id,
                len(watch.unpaid),
                int(self._window_s),
            )

    def paid(self, partner_id: str, nik: str) -> None:
        """The partner paid for this member: its inquiry was a real customer's."""
        watch = self._watches.get(partner_id)
        if watch is not None and watch.unpaid.pop(self._digest(nik), None) is not None:
            UNPAID_NIKS.labels(partner_id).set(len(watch.unpaid))

    def unpaid(self, partner_id: str) -> int:
        watch = self._watches.get(partner_id)
        if watch is None:
            return 0
        self._expire(watch, self._clock())
        return len(watch.unpaid)

    def _expire(self, watch: _Watch, now: float) -> None:
        while watch.unpaid:
            digest, at = next(iter(watch.unpaid.items()))
            if now - at < self._window_s:
                break
            del watch.unpaid[digest]

    def _digest(self, nik: str) -> bytes:
        return hashlib.blake2b(nik.encode(), key=self._key, digest_size=16).digest()
