"""A partner's rate limit per operation, for channels whose requests do not pass the HTTP edge.

The HTTP edge (``hub.api.edge``) takes a token before it reads a body. A channel with
its own server (BNI 46's ISO 8583 over TCP) takes one here once a request names its
partner, from the same buckets (``[rate_limits]``, ``[partners.<id>.rate_limits]``), so
the limits are shared across hub processes in the same way, and counted and logged as
the edge counts and logs its own.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter

from hub.errors import RateLimited
from hub.limits.buckets import Limiter
from hub.settings import RateLimit

log = logging.getLogger("hub.edge")

REFUSED = Counter(
    "hub_edge_refusals_total",
    "Partner requests refused at the edge before their body was read or used",
    ["channel", "reason"],
)
"""reason: unauthenticated, too_large, rate_limited, slow_body."""

_LOG_EVERY_S = 60.0


class RefusalLog:
    """One warning per channel, partner and reason a minute, with the count since the last one."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], tuple[float, int]] = {}

    def note(self, channel: str, partner: str, reason: str, detail: str) -> None:
        key = (channel, partner, reason)
        now = time.monotonic()
        logged_at, count = self._last.get(key, (-_LOG_EVERY_S, 0))
        count += 1
        if now - logged_at >= _LOG_EVERY_S:
            log.warning(
                "%s: %d request(s) of partner %s refused (%s) in the last minute: %s",
                channel,
                count,
                partner,
                reason,
                detail,
            )
            count = 0
            logged_at = now
        self._last[key] = (logged_at, count)


@dataclass(frozen=True, slots=True)
class PartnerLimits:
    """Takes a token of one partner's operation, or refuses it with ``RateLimited``."""

    limiter: Limiter
    limit_of: Callable[[str, str, str], RateLimit]
    """(partner id, operation, limit class) -> its bucket (``Settings.rate_limit``)."""
    refusals: RefusalLog = field(default_factory=RefusalLog)

    async def take(self, channel: str, partner_id: str, operation: str, limit_class: str) -> None:
        bucket = self.limit_of(partner_id, operation, limit_class)
        wait_s = await self.limiter.take(f"{partner_id}|{operation}", bucket)
        if wait_s <= 0:
            return
        REFUSED.labels(channel, "rate_limited").inc()
        self.refusals.note(channel, partner_id, "rate_limited", operation)
        raise RateLimited(
            f"more than {bucket.per_s:g} requests/s (burst {bucket.burst}) of {operation}; "
            "retry after the time in Retry-After",
            retry_after_s=max(1, math.ceil(wait_s)),
        )
