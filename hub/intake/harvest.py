"""Inquiries by NIK: a tighter rate limit, and an alert when a partner harvests members.

A NIK is structured (province, birth date, serial), so an inquiry answered with a
KPJ, a payment code and a masked name for any NIK would let a partner map the
membership. Inquiries by NIK therefore have their own bucket (``inquiry_by_nik``),
and a partner that inquires many distinct NIKs it then never pays for within
``window_s`` raises an operator alert: the ``hub_nik_harvest_alerts_total``
counter, the ``hub_inquired_unpaid_niks`` gauge and one warning log line per
window. NIKs are kept only as keyed hashes, never in clear, and never logged.

Where the unpaid NIKs are kept is a port (``UnpaidInquiries``): in this process
(``LocalUnpaidInquiries``, the laptop default) or in PostgreSQL
(``hub.store.inquiries``), so that a harvester spreading its inquiries over
several API processes is counted once, and alerted once per window.
"""

import hashlib
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

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


class UnpaidInquiries(Protocol):
    """The NIKs each partner inquired and has not paid for, within a window."""

    async def note(self, partner_id: str, nik: str, window_s: float) -> int:
        """Remember this inquiry; how many distinct unpaid NIKs the partner now has."""
        ...

    def paid(self, partner_id: str, nik: str) -> None:
        """The partner paid for this member (may take effect a moment later)."""
        ...

    async def count(self, partner_id: str, window_s: float) -> int:
        """Distinct NIKs the partner inquired within the window and has not paid for."""
        ...

    async def claim_alert(self, partner_id: str, window_s: float) -> bool:
        """True for exactly one caller per partner per window: that caller raises the alert."""
        ...


@dataclass
class _Watch:
    unpaid: OrderedDict[bytes, float] = field(default_factory=OrderedDict)
    """NIK hash -> when it was last inquired (oldest first)."""
    alerted_at: float | None = None


class LocalUnpaidInquiries:
    """``UnpaidInquiries`` in this process: keyed hashes, oldest first, expiring with the window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(16)
        self._watches: dict[str, _Watch] = {}

    async def note(self, partner_id: str, nik: str, window_s: float) -> int:
        now = self._clock()
        watch = self._watches.setdefault(partner_id, _Watch())
        digest = self._digest(nik)
        watch.unpaid.pop(digest, None)
        watch.unpaid[digest] = now
        self._expire(watch, now, window_s)
        return len(watch.unpaid)

    def paid(self, partner_id: str, nik: str) -> None:
        watch = self._watches.get(partner_id)
        if watch is not None:
            watch.unpaid.pop(self._digest(nik), None)

    async def count(self, partner_id: str, window_s: float) -> int:
        watch = self._watches.get(partner_id)
        if watch is None:
            return 0
        self._expire(watch, self._clock(), window_s)
        return len(watch.unpaid)

    async def claim_alert(self, partner_id: str, window_s: float) -> bool:
        watch = self._watches.setdefault(partner_id, _Watch())
        now = self._clock()
        if watch.alerted_at is not None and now - watch.alerted_at < window_s:
            return False
        watch.alerted_at = now
        return True

    @staticmethod
    def _expire(watch: _Watch, now: float, window_s: float) -> None:
        while watch.unpaid:
            digest, at = next(iter(watch.unpaid.items()))
            if now - at < window_s:
                break
            del watch.unpaid[digest]

    def _digest(self, nik: str) -> bytes:
        return hashlib.blake2b(nik.encode(), key=self._key, digest_size=16).digest()


class InquiryWatch:
    """Per partner: the NIK-inquiry bucket, and the NIKs it inquired but did not pay."""

    def __init__(
        self,
        limiter: Limiter,
        limit_of: Callable[[str], RateLimit],
        window_s: float,
        unpaid_niks_alert: int,
        clock: Callable[[], float] = time.monotonic,
        unpaid: UnpaidInquiries | None = None,
    ) -> None:
        self._limiter = limiter
        self._limit_of = limit_of
        self._window_s = window_s
        self._threshold = unpaid_niks_alert
        self._unpaid: UnpaidInquiries = unpaid or LocalUnpaidInquiries(clock)

    async def inquired(self, partner_id: str, nik: str) -> None:
        """Take from the partner's NIK-inquiry bucket (``RateLimited`` when empty), then note it."""
        limit = self._limit_of(partner_id)
        wait_s = await self._limiter.take(f"{partner_id}|inquiry_by_nik", limit)
        if wait_s > 0:
            raise RateLimited(
                f"more than {limit.per_s:g} inquiries by NIK a second (burst {limit.burst})",
                retry_after_s=max(1, math.ceil(wait_s)),
            )
        unpaid = await self._unpaid.note(partner_id, nik, self._window_s)
        UNPAID_NIKS.labels(partner_id).set(unpaid)
        if unpaid >= self._threshold and await self._unpaid.claim_alert(partner_id, self._window_s):
            HARVEST_ALERTS.labels(partner_id).inc()
            log.warning(
                "possible NIK harvesting: partner %s inquired %d distinct NIKs in the last %d s "
                "without paying for them",
                partner_id,
                unpaid,
                int(self._window_s),
            )

    def paid(self, partner_id: str, nik: str) -> None:
        """The partner paid for this member: its inquiry was a real customer's."""
        self._unpaid.paid(partner_id, nik)

    async def unpaid(self, partner_id: str) -> int:
        count = await self._unpaid.count(partner_id, self._window_s)
        UNPAID_NIKS.labels(partner_id).set(count)
        return count
