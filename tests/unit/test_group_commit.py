"""Group commit: concurrent callers share a flush and each gets its own answer."""

import asyncio

import pytest

from hub.store.group_commit import GroupCommitter


async def test_concurrent_callers_share_one_flush_and_each_gets_its_own_result() -> None:
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0.01)
        return [i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    results = await asyncio.gather(*(committer.submit(i) for i in range(50)))
    assert results == [i * 10 for i in range(50)]
    assert len(batches) < 50
    assert sorted(i for batch in batches for i in batch) == list(range(50))


async def test_a_failed_flush_fails_every_caller_in_that_batch_and_the_next_batch_still_runs() -> (
    None
):
    calls = 0

    async def flush(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("store down")
        return items

    committer: GroupCommitter[str, str] = GroupCommitter(flush)
    with pytest.raises(ConnectionError):
        await committer.submit("first")
    assert await committer.submit("second") == "second"


async def test_an_idle_committer_flushes_a_lone_call_at_once() -> None:
    async def flush(items: list[int]) -> list[int]:
        return items

    committer: GroupCommitter[int, int] = GroupCommitter(flush, in_flight=3)
    assert await asyncio.wait_for(committer.submit(7), 0.5) == 7


async def test_a_call_made_in_the_turn_after_the_first_joins_its_batch() -> None:
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    first = asyncio.ensure_future(committer.submit(1))
    await asyncio.sleep(0)  # the first call is queued and its batch's worker started
    second = asyncio.ensure_future(committer.submit(2))
    assert await asyncio.gather(first, second) == [1, 2]
    assert batches == [[1, 2]]


async def test_no_batch_is_flushed_empty_when_the_other_batch_took_every_call() -> None:
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    # Three calls and room for two batches: both start, the first to look takes all three.
    committer: GroupCommitter[int, int] = GroupCommitter(flush, max_batch=5, in_flight=2)
    assert await committer.submit_many([1, 2, 3]) == [1, 2, 3]
    while committer.busy:
        await asyncio.sleep(0)
    assert batches == [[1, 2, 3]]


async def test_every_caller_in_a_failed_batch_gets_the_failure_and_the_worker_goes_on() -> None:
    """Several callers share the failing flush: none may wait forever, and later work runs."""
    release = asyncio.Event()
    flushes: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushes.append(items)
        if len(flushes) == 1:
            await release.wait()  # hold the first batch so the next callers queue behind it
            return items
        if len(flushes) == 2:
            raise ConnectionError("store down")
        return [i * 2 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(flush, max_batch=5)
    first = asyncio.ensure_future(committer.submit(0))
    while not flushes:  # the first batch, the first call alone, is under way
        await asyncio.sleep(0)
    failing = [asyncio.ensure_future(committer.submit(i)) for i in range(1, 6)]
    behind = [asyncio.ensure_future(committer.submit(i)) for i in range(6, 9)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.wait_for(first, 1) == 0
    results = await asyncio.wait_for(asyncio.gather(*failing, return_exceptions=True), 1)
    assert flushes[1] == [1, 2, 3, 4, 5], "the five callers shared one failing flush"
    assert all(isinstance(r, ConnectionError) for r in results), results
    # Queued behind the failed batch: flushed by the same worker, without a new caller.
    assert await asyncio.wait_for(asyncio.gather(*behind), 1) == [12, 14, 16]


async def test_one_callers_many_items_come_back_in_order_across_batches_shared_with_others() -> (
    None
):
    batches: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        batches.append(items)
        await asyncio.sleep(0.001)
        return [-i for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(flush, max_batch=7, in_flight=2)
    many, lone = await asyncio.gather(committer.submit_many(range(20)), committer.submit(100))

    assert many == [-i for i in range(20)]
    assert lone == -100
    assert max(len(batch) for batch in batches) == 7
    assert [i for batch in batches for i in batch] == [*range(20), 100]


class _Overlap:
    """A flush that takes 10 ms and notes the most batches it was flushing at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def flush(self, items: list[int]) -> list[int]:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        return items


async def test_one_callers_many_items_fill_every_batch_slot_at_once() -> None:
    overlap = _Overlap()
    committer: GroupCommitter[int, int] = GroupCommitter(overlap.flush, max_batch=5, in_flight=2)
    assert await committer.submit_many(range(20)) == list(range(20))
    assert overlap.most == 2


async def test_a_committer_is_busy_from_a_call_until_its_batch_is_flushed() -> None:
    release = asyncio.Event()

    async def flush(items: list[int]) -> list[int]:
        await release.wait()
        return items

    committer: GroupCommitter[int, int] = GroupCommitter(flush)
    assert not committer.busy
    call = asyncio.create_task(committer.submit(1))
    await asyncio.sleep(0)
    assert committer.busy  # flushing
    release.set()
    assert await call == 1
    await asyncio.sleep(0)  # the worker's last look at the queue
    assert not committer.busy


async def test_single_calls_keep_to_in_flight_and_many_items_to_in_flight_many() -> None:
    overlap = _Overlap()
    committer: GroupCommitter[int, int] = GroupCommitter(
        overlap.flush, max_batch=5, in_flight=1, in_flight_many=3
    )
    assert await asyncio.gather(*(committer.submit(i) for i in range(20))) == list(range(20))
    assert overlap.most == 1
    assert await committer.submit_many(range(20)) == list(range(20))
    assert overlap.most == 3
