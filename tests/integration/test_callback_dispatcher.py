"""The callback dispatcher against real PostgreSQL and a real local HTTP endpoint."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.callbacks.dispatcher import Backoff, CallbackDispatcher
from hub.store.tables import callback_attempts
from tests.support.callback_server import CallbackServer, callback_server
from tests.support.outbox import POLICY, Clock, delivery_state, queue_callback


@pytest.fixture
async def endpoint() -> AsyncIterator[CallbackServer]:
    async with callback_server() as server:
        yield server


def test_backoff_doubles_from_the_initial_wait_up_to_the_maximum() -> None:
    backoff = Backoff(initial_s=30, max_s=3600)

    waits = [backoff.after(n).total_seconds() for n in range(1, 10)]

    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


async def test_a_failing_endpoint_is_retried_on_schedule_and_given_up_after_24_hours(
    engine: AsyncEngine, endpoint: CallbackServer
) -> None:
    clock = Clock()
    reference = f"GIVE-UP-{uuid.uuid4().hex[:6]}"
    endpoint.fail(reference, times=1_000)
    delivery = await queue_callback(engine, endpoint.url, reference, clock.now)
    dispatcher = CallbackDispatcher(engine, {"callme": "s"}, POLICY, clock)

    attempts = 0
    while (await delivery_state(engine, delivery))[0] == "pending":
        assert await dispatcher.deliver_due() == 1
        attempts += 1
        assert await dispatcher.deliver_due() == 0, "not due again before its backoff"
        clock.now += Backoff(30, 3600).after(attempts)

    status, stored_attempts, http = await delivery_state(engine, delivery)
    assert status == "failed"
    assert stored_attempts == attempts == len(http)
    assert set(http) == {500}
    # 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: 30 attempts fit in 24 hours.
    assert 25 <= attempts <= 32
    print(f"given up after {attempts} attempts")


async def test_two_dispatchers_never_deliver_the_same_notification_twice(
    engine: AsyncEngine, endpoint: CallbackServer
) -> None:
    clock = Clock()
    references = [f"ONCE-{uuid.uuid4().hex[:6]}-{i}" for i in range(20)]
    for reference in references:
        await queue_callback(engine, endpoint.url, reference, clock.now)
    first = CallbackDispatcher(engine, {"callme": "s"}, POLICY, clock)
    second = CallbackDispatcher(engine, {"callme": "s"}, POLICY, clock)

    rounds = 0
    while sum(await asyncio.gather(first.deliver_due(), second.deliver_due())):
        rounds += 1

    assert rounds >= 2, "8 slots each: 20 deliveries need more than one round"
    assert [len(endpoint.for_reference(ref)) for ref in references] == [1] * 20


async def test_an_unreachable_endpoint_is_an_attempt_with_its_error_not_a_crash(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    delivery = await queue_callback(engine, "http://127.0.0.1:9/nothing", "UNREACHABLE", clock.now)

    await CallbackDispatcher(engine, {"callme": "s"}, POLICY, clock).deliver_due()

    async with engine.connect() as conn:
        error = (
            await conn.execute(
                sa.select(callback_attempts.c.error).where(
                    callback_attempts.c.delivery_id == delivery
                )
            )
        ).scalar_one()
    assert "ConnectError" in error
    assert (await delivery_state(engine, delivery))[:2] == ("pending", 1)
