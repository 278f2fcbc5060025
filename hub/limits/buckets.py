"""Token buckets: the rule, and a bucket store that lives in this process.

A bucket holds at most ``burst`` tokens and refills at ``per_s`` tokens a
second; each request takes one. An empty bucket answers how long until the next
token, which the partner hears as ``Retry-After``.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hub.settings import RateLimit


class Limiter(Protocol):
    """Takes one token from a named bucket."""

    async def take(self, key: str, limit: RateLimit) -> float:
        """0 when a token was taken; otherwise the seconds until one will be there."""
        ...


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    at: float
    """When ``tokens`` was last computed (seconds, any monotonic clock)."""


def take_token(bucket: Bucket | None, now: float, limit: RateLimit) -> tuple[Bucket, float]:
    """The bucket after one request at ``now``, and the wait (0 when the request may pass).

    A new bucket starts full. A refused request leaves the bucket as it was, so a
    flood does not push a partner's next token further away.
    """
    if bucket is None:
        return Bucket(limit.burst - 1.0, now), 0.0
    tokens = min(float(limit.burst), bucket.tokens + max(0.0, now - bucket.at) * limit.per_s)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return bucket, (1.0 - tokens) / limit.per_s


class LocalLimiter:
    """Buckets in this process: the embedded (one-process) hub, and the fallback of the SQL one."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._max_keys = max_keys

    async def take(self, key: str, limit: RateLimit) -> float:
        now = self._clock()
        bucket, wait_s = take_token(self._buckets.get(key), now, limit)
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            # Keys are partner x operation, so this only trips on a misconfiguration; forget
            # the full buckets (they would have refilled anyway) rather than grow without end.
            self._buckets = {k: b for k, b in self._buckets.items() if b.tokens < limit.burst - 1}
        self._buckets[key] = bucket
        return wait_s
