"""Tokens one process takes from a shared bucket ahead of its requests (a lease).

A partner's busy bucket in PostgreSQL would be asked for a token by every batch of its
requests: a round trip that each request waits for, and a row lock that every API
process queues on. Instead, a take for a busy bucket asks for as many tokens more as
the bucket's requests in the last ``LEASE_S`` (its recent demand), and the next
requests of this process spend them without asking.

The shared bucket counts every token a lease took, so all processes together never
pass more than it grants. A leased token is spent within ``LEASE_S`` or dropped, and a
lease is at most a tenth of the burst and what the bucket refills in ``LEASE_S``: the
rate holds, and a burst is exceeded by at most that much. A bucket asked sparsely (no
other request in the last ``LEASE_S``) takes no lease, so a partner well under its
limit never loses tokens to leases that expire unspent.
"""

from dataclasses import dataclass

from hub.settings import RateLimit

LEASE_S = 0.1
"""How long leased tokens may be spent, and the window that measures recent demand."""
LEASE_SHARE_OF_BURST = 0.1


def lease_cap(limit: RateLimit) -> int:
    """The most tokens a lease of this bucket may hold."""
    return int(min(limit.burst * LEASE_SHARE_OF_BURST, limit.per_s * LEASE_S))


@dataclass(slots=True)
class _Held:
    window_at: float
    """When the window that counts the bucket's demand began."""
    in_window: int = 0
    """Requests of the bucket seen since ``window_at``."""
    last_window: int = 0
    """... in the whole window before it (0 if none came in it)."""
    tokens: int = 0
    """Leased tokens not spent yet, spendable until ``until``."""
    until: float = 0.0


class Leases:
    """This process's leased tokens, by bucket key. ``now``: seconds, a monotonic clock."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    def spend(self, key: str, now: float) -> bool:
        """Count a request of the bucket; True when a leased token lets it pass."""
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held(now)
        self._count(held, now)
        if held.tokens > 0 and now < held.until:
            held.tokens -= 1
            return True
        held.tokens = 0  # spent, or expired: dropped
        return False

    def wanted_ahead(self, key: str, limit: RateLimit) -> int:
        """How many tokens to ask for beyond the requests in hand: the recent demand."""
        held = self._held.get(key)
        return 0 if held is None else min(lease_cap(limit), held.last_window)

    def grant(self, key: str, tokens: int, now: float) -> None:
        """Tokens taken for this process beyond its requests: spendable until ``LEASE_S``."""
        if tokens <= 0:
            return
        held = self._held.setdefault(key, _Held(now))
        held.tokens = (held.tokens if now < held.until else 0) + tokens
        held.until = now + LEASE_S

    def forget_idle(self, now: float) -> None:
        """Drop buckets not asked for in two windows (keys are partner x operation)."""
        idle = [k for k, h in self._held.items() if now - h.window_at >= 2 * LEASE_S]
        for key in idle:
            del self._held[key]

    @staticmethod
    def _count(held: _Held, now: float) -> None:
        elapsed = now - held.window_at
        if elapsed >= LEASE_S:
            held.last_window = held.in_window if elapsed < 2 * LEASE_S else 0
            held.in_window = 0
            held.window_at = now
        held.in_window += 1
