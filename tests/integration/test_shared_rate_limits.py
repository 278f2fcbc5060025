"""Rate-limit buckets in PostgreSQL are one bucket for every API process."""

import asyncio

import pytest
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
