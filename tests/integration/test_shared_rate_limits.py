"""Rate-limit buckets in PostgreSQL are one bucket for every API process."""

import asyncio
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.limits.sql import PostgresLimiter
from hub.settings import RateLimit
from hub.store.database import create_engine

pytestmark = pytest.mark.integration

SLOW = RateLimit(per_s=0.1, burst=5)


async def test_two_api_processes_draw_from_the_same_bucket(engines: list[AsyncEngine]) -> None:
    first, second = (PostgresLimiter(e) for e in engines)
    key = "shared-partner|POST /v1/payments"
    waits = [await (first if i % 2 else second).take(key, SLOW) for i in range(8)]
    assert [w == 0 for w in waits] == [True] * 5 + [False] * 3
    assert 9.0 < waits[-1] <= 10.0  # one token every 10 s


async def test_buckets_of_other_partners_are_untouched(engines: list[AsyncEngine]) -> None:
    limiter = PostgresLimiter(engines[0])
    for _ in range(6):
        await limiter.take("flooder|POST /v1/payments", SLOW)
    assert await limiter.take("bystander|POST /v1/payments", SLOW) == 0


async def test_an_unreachable_database_falls_back_to_buckets_of_this_process() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    limiter = PostgresLimiter(engine)
    try:
        waits = [await limiter.take("lonely|POST /v1/payments", SLOW) for _ in range(6)]
    finally:
        await engine.dispose()
    assert [w == 0 for w in waits] == [True] * 5 + [False]


async def test_a_burst_of_concurrent_requests_from_two_processes_gets_exactly_the_burst(
    engines: list[AsyncEngine],
) -> None:
    """Concurrent takes go to PostgreSQL in batches; a batch hands out no more than is there."""
    first, second = (PostgresLimiter(e) for e in engines)
    key = "bursting-partner|POST /v1/registrations"
    waits = await asyncio.gather(*((first, second)[i % 2].take(key, SLOW) for i in range(12)))
    assert sum(1 for w in waits if w == 0) == 5
    assert all(9.0 < w <= 10.0 for w in waits if w)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*args: Any) -> None:
        seen.append(args[2])

    return seen


async def test_a_busy_partners_next_requests_pass_on_a_lease_without_a_round_trip(
    engines: list[AsyncEngine],
) -> None:
    clock = _Clock()
    limiter = PostgresLimiter(engines[0], clock)
    key = f"busy-{uuid.uuid4().hex[:8]}|POST /v1/registrations"
    statements = _statements(engines[0])
    limit = RateLimit(per_s=1_000, burst=2_000)  # a lease of up to 100 tokens

    first = await asyncio.gather(*(limiter.take(key, limit) for _ in range(50)))
    clock.now += 0.1  # a window later: its demand was 50
    second = await limiter.take(key, limit)  # asks for 1 + 50
    asked = len(statements)
    clock.now += 0.05
    on_lease = [await limiter.take(key, limit) for _ in range(50)]
    beyond = await limiter.take(key, limit)

    assert all(w == 0 for w in [*first, second, *on_lease, beyond])
    assert len(statements) - asked == 1, "only the request beyond the lease asked again"


async def test_leases_of_two_processes_never_pass_more_than_the_bucket_grants(
    engines: list[AsyncEngine],
) -> None:
    clocks = _Clock(), _Clock()
    first, second = (PostgresLimiter(e, c) for e, c in zip(engines, clocks, strict=True))
    key = f"shared-{uuid.uuid4().hex[:8]}|POST /v1/payments"
    limit = RateLimit(per_s=100, burst=100)  # leases of up to 10 tokens
    started = time.monotonic()
    waits: list[float] = []
    # 20 each; a window later 1 each, which leases 10 each; then 60 each, 10 on the lease.
    for count, then in ((20, 0.1), (1, 0.05), (60, 0.0)):
        waits += await asyncio.gather(
            *(limiter.take(key, limit) for limiter in (first, second) for _ in range(count))
        )
        for clock in clocks:
            clock.now += then
    refilled = limit.per_s * (time.monotonic() - started)

    passed = sum(1 for w in waits if w == 0)
    assert passed <= limit.burst + refilled
    assert passed >= limit.burst - 2 * 10  # at most a lease a process left unspent
