"""What a stop ends at once, what ends on its own, and clients a stop does not wait for."""

import asyncio

import pytest

from hub.kafka.connection import stopped_within
from hub.resilience import unless_stopped


async def test_work_still_waiting_is_cancelled_as_soon_as_stop_is_set() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def waits_for_ever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    running = asyncio.create_task(unless_stopped(stop, waits_for_ever()))
    await asyncio.sleep(0.01)
    assert not running.done()
    stop.set()
    await asyncio.wait_for(running, 1.0)  # returns, without the work's cancellation
    assert cancelled.is_set()


async def test_work_that_finishes_first_is_waited_for_and_its_error_is_raised() -> None:
    stop = asyncio.Event()
    finished: list[str] = []

    async def short() -> None:
        await asyncio.sleep(0.01)
        finished.append("short")

    async def fails() -> None:
        raise ValueError("the work's own error")

    await unless_stopped(stop, short())
    assert finished == ["short"]
    with pytest.raises(ValueError, match="the work's own error"):
        await unless_stopped(stop, fails())


async def test_a_stop_set_before_the_work_starts_cancels_it_at_its_first_wait() -> None:
    stop = asyncio.Event()
    stop.set()
    ran: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.01)
        ran.append("ran")

    await unless_stopped(stop, work())
    assert ran == []


async def test_a_kafka_client_whose_broker_never_answers_is_left_after_the_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def never_answered() -> None:
        await asyncio.Event().wait()

    started = asyncio.get_running_loop().time()
    await stopped_within(never_answered, 0.05, "publisher")
    assert asyncio.get_running_loop().time() - started < 1.0
    assert "publisher: the broker did not answer within 0 s" in caplog.text


async def test_a_kafka_client_that_stops_in_time_is_waited_for_in_silence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopped: list[str] = []

    async def says_goodbye() -> None:
        await asyncio.sleep(0.01)
        stopped.append("closed")

    await stopped_within(says_goodbye, 1.0, "core consumer")
    assert stopped == ["closed"]
    assert "did not answer" not in caplog.text
