"""Group commit: concurrent callers share one database round trip.

Whatever arrives while a batch is in flight goes into the next batch, and a batch that
would not be full waits one turn of the event loop for the calls made in that turn: an
idle hub adds almost no latency and a busy one makes one statement for many requests.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    """Runs ``flush(items) -> results`` (same order, same length) on batches of calls.

    At most ``in_flight`` batches are flushed at once for calls of one item, and
    ``in_flight_many`` (by default the same) once one caller's many items are queued.
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        max_batch: int = 500,
        in_flight: int = 1,
        in_flight_many: int | None = None,
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._in_flight_many = in_flight if in_flight_many is None else in_flight_many
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._workers: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> bool:
        """Calls are queued or a batch is being flushed: a batch will start soon, or has."""
        return bool(self._queue or self._workers)

    async def submit(self, item: T) -> R:
        """Queue ``item``; return its result once the batch it joined is flushed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if len(self._workers) < self._in_flight:
            self._workers.add(asyncio.create_task(self._drain()))
        return await future

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """Queue ``items`` together, in order; their results once flushed, in the same order.

        One caller's many items (a batch file's rows) cost one future each, not a task
        each; they may be flushed in several batches, alongside other callers' items.
        """
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[R]] = [loop.create_future() for _ in items]
        self._queue.extend(zip(items, futures, strict=True))
        while self._queue and len(self._workers) < self._in_flight_many:
            self._workers.add(asyncio.create_task(self._drain()))
        return list(await asyncio.gather(*futures))

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            # Synchronously with its last look at the queue (no await in between), so a
            # call queued after that look always finds too few workers and starts one.
            task = asyncio.current_task()
            if task is not None:
                self._workers.discard(task)

    async def _drain_queue(self) -> None:
        while self._queue:
            if len(self._queue) < self._max_batch:
                # One turn of the event loop first: calls made in the same turn join this
                # batch instead of waiting for the next (the requests whose bodies were
                # read in it, a batch of results handed back at once). Fuller batches cost
                # the hub and PostgreSQL less a call.
                await asyncio.sleep(0)
                if not self._queue:
                    break  # another batch in flight took them meanwhile
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 (each caller in the batch gets the failure)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
