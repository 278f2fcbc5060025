"""The callback dispatcher against real PostgreSQL and a real local HTTP endpoint."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.callbacks.dispatcher import Backoff, CallbackDispatcher, DeliveryPolicy
from hub.store.database import create_engine
from hub.store.tables import callback_attempts, callback_deliveries
from tests.support.callback_server import CallbackServer, callback_server

POLICY = DeliveryPolicy(
    timeout_s=2, initial_backoff_s=30, max_backoff_s=3600, concurrency=8, poll_s=0.05
)


class Clock:
    """Years ahead: rows due on this clock are not yet due for a live hub sharing the database."""

    def __init__(self) -> None:
        self.now = datetime(2036, 3, 10, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def endpoint() -> AsyncIterator[CallbackServer]:
    async with callback_server() as server:
        yield server


async def _outbox(engine: AsyncEngine, url: str, reference: str, now: datetime) -> int:
    body = {"notification_id": str(uuid.uuid4()), "event": "registration.recorded"}
    async with engine.begin() as conn:
        return (
            await conn.execute(
                callback_deliveries.insert()
                .values(
                    notification_id=uuid.UUID(body["notification_id"]),
                    partner_id="callme",
                    kind="registration",
                    reference=reference,
                    event="registration.recorded",
                    url=url,
                    body=json.dumps({**body, "reference": reference}),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    give_up_at=now + timedelta(hours=24),
                    created_at=now,
                )
                .returning(callback_deliveries.c.id)
            )
        ).scalar_one()


async def _state(engine: AsyncEngine, delivery_id: int) -> tuple[str, int, list[int | None]]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(callback_deliveries.c.status, callback_deliveries.c.attempts).where(
                    callback_deliveries.c.id == delivery_id
                )
            )
        ).one()
        statuses = (
            await conn.execute(
                sa.select(callback_attempts.c.http_status)
                .where(callback_attempts.c.delivery_id == delivery_id)
                .order_by(callback_attempts.c.attempt)
            )
        ).scalars()
        return row.status, row.attempts, list(statuses)


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
    delivery = await _outbox(engine, endpoint.url, reference, clock.now)
    dispatcher = CallbackDispatcher(engine, {"callme": "s"}, POLICY, clock)

    attempts = 0
    while (await _state(engine, delivery))[0] == "pending":
        assert await dispatcher.deliver_due() == 1
        attempts += 1
        assert await dispatcher.deliver_due() == 0, "not due again before its backoff"
        clock.now += Backoff(30, 3600).after(attempts)

    status, stored_attempts, http = await _state(engine, delivery)
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
        await _outbox(engine, endpoint.url, reference, clock.now)
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
    delivery = await _outbox(engine, "http://127.0.0.1:9/nothing", "UNREACHABLE", clock.now)

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
    assert (await _state(engine, delivery))[:2] == ("pending", 1)
