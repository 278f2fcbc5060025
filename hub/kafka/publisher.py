"""Publishes member events and waits, within a bound, for the broker's acknowledgement."""

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from hub.errors import BrokerUnavailable
from hub.kafka.connection import client_options, stopped_within
from hub.kafka.partitioner import MemberPartitioner, partition_of
from hub.kafka.topics import ensure_topics
from hub.observability import metrics
from hub.settings import Settings

log = logging.getLogger(__name__)


class KafkaEventPublisher:
    """``EventPublisher`` on aiokafka with acks=all.

    A partner is told "accepted" only after ``publish`` returns. When no ack comes
    within ``kafka_ack_timeout_s``, or before ``start`` has connected, it raises
    ``BrokerUnavailable`` (a 503), and the next publish first re-checks the topics: a
    broker that came back empty (Tansu's memory storage) gets them recreated with the
    configured partition count.
    """

    def __init__(self, settings: Settings, bootstrap_servers: str) -> None:
        self._settings = settings
        self._bootstrap = bootstrap_servers
        self._topic = settings.kafka_member_events_topic
        self._producer = AIOKafkaProducer(
            **client_options(settings, bootstrap_servers),
            acks="all",
            enable_idempotence=settings.kafka_enable_idempotence,
            linger_ms=settings.kafka_linger_ms,
            max_batch_size=settings.kafka_producer_batch_bytes,
            request_timeout_ms=int(settings.kafka_ack_timeout_s * 1000),
            partitioner=MemberPartitioner(),
        )
        self._topology_verified = False
        self._topology_lock = asyncio.Lock()
        self._started = False

    async def start(self, within_s: float = 30.0) -> None:
        """Connect, retrying with backoff while the broker comes up."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((KafkaError, OSError)),
            wait=wait_exponential(multiplier=0.1, max=2),
            stop=stop_after_delay(within_s),
            reraise=True,
        ):
            with attempt:
                await ensure_topics(self._settings, self._bootstrap)
        await self._producer.start()
        self._topology_verified = True
        self._started = True

    async def stop(self) -> None:
        # Whatever the producer still holds was never acknowledged to a partner (a publish
        # that timed out answered "try again"), so it is not waited for past the timeout.
        await stopped_within(self._producer.stop, self._settings.kafka_ack_timeout_s, "publisher")

    async def publish(
        self, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        if not self._started:  # still connecting (hub start-up with the broker away)
            raise self._unavailable()
        started = time.monotonic()
        deadline = started + self._settings.kafka_ack_timeout_s
        try:
            async with asyncio.timeout_at(_loop_deadline(deadline)):
                if not self._topology_verified:
                    await self._verify_topology()
                await self._producer.send_and_wait(
                    self._topic, value, key=key.encode(), headers=headers
                )
            metrics.BROKER_ACK_SECONDS.observe(time.monotonic() - started)
        except (TimeoutError, KafkaError, OSError) as exc:
            self._topology_verified = False
            metrics.BROKER_ACK_FAILURES.inc()
            # The key is the member's NIK: never logged. The request's ids are bound
            # to the log context by intake.
            log.warning("no broker acknowledgement within the ack timeout: %r", exc)
            raise BrokerUnavailable(
                "the event store did not acknowledge in time; retry with the same reference"
            ) from exc

    async def publish_many(
        self, events: Sequence[tuple[str, bytes]]
    ) -> list[BrokerUnavailable | None]:
        """Publish ``events`` (key, value) together, within one ack timeout.

        Every event is handed to the producer first (it batches them per partition), then
        the acknowledgements are awaited together: a batch upload pays one timeout and
        one wait, not one per event. Each event's result is None once acknowledged, or
        the ``BrokerUnavailable`` a partner would have been told.
        """
        if not events:
            return []
        if not self._started:
            return [self._unavailable() for _ in events]
        started = time.monotonic()
        futures: list[asyncio.Future[object] | None] = []
        failure: BaseException | None = None
        try:
            async with asyncio.timeout_at(
                _loop_deadline(started + self._settings.kafka_ack_timeout_s)
            ):
                if not self._topology_verified:
                    await self._verify_topology()
                futures = await self._send_in_batches(events)
                # Not gather: cancelled by the timeout, it would cancel the futures, and
                # a batch's own future (inside aiokafka's shield) would then fail unseen.
                handed_over = {f for f in futures if f is not None}
                if handed_over:
                    await asyncio.wait(handed_over)
        except (TimeoutError, KafkaError, OSError) as exc:
            failure = exc
        results: list[BrokerUnavailable | None] = []
        for i in range(len(events)):
            future = futures[i] if i < len(futures) else None
            if future is not None and future.done() and not future.cancelled():
                error = future.exception()
                if error is None:
                    results.append(None)
                    continue
                failure = failure or error
            results.append(self._unavailable())
        if failure is None:
            metrics.BROKER_ACK_SECONDS.observe(time.monotonic() - started)
        else:
            self._topology_verified = False
            metrics.BROKER_ACK_FAILURES.inc()
            log.warning("no broker acknowledgement within the ack timeout: %r", failure)
        return results

    async def _send_in_batches(
        self, events: Sequence[tuple[str, bytes]]
    ) -> "list[asyncio.Future[object] | None]":
        """Hand ``events`` to the producer a record batch at a time; each event's future is
        its batch's (one future and one hand-over per batch, not per event: for a batch
        upload that was a tenth of the API's CPU).

        Each event goes to the partition ``send`` chooses for its key (``partition_of``:
        Kafka's default, murmur2, as Java's clients), so a member's events keep one
        partition and their order whichever way they were published. Batches are not
        filled all at once: an event either fits in its partition's batch, or that batch
        is handed over and the event starts the next one, in the events' order.
        """
        partitions = len(await self._producer.partitions_for(self._topic))
        sent: list[asyncio.Future[object] | None] = [None] * len(events)
        filling: dict[int, tuple[Any, list[int]]] = {}

        async def hand_over(partition: int) -> None:
            batch, members = filling.pop(partition)
            future = await self._producer.send_batch(batch, self._topic, partition=partition)
            future.add_done_callback(_outcome_taken)
            for i in members:
                sent[i] = future

        for i, (key, value) in enumerate(events):
            raw_key = key.encode()
            partition = partition_of(raw_key, partitions)
            if partition not in filling:
                filling[partition] = (self._producer.create_batch(), [])
            if filling[partition][0].append(key=raw_key, value=value, timestamp=None) is None:
                await hand_over(partition)
                filling[partition] = (self._producer.create_batch(), [])
                if filling[partition][0].append(key=raw_key, value=value, timestamp=None) is None:
                    raise MessageSizeTooLargeError("an event does not fit in a record batch")
            filling[partition][1].append(i)
        for partition in list(filling):
            await hand_over(partition)
        return sent

    @staticmethod
    def _unavailable() -> BrokerUnavailable:
        return BrokerUnavailable(
            "the event store did not acknowledge in time; retry with the same reference"
        )

    async def _verify_topology(self) -> None:
        async with self._topology_lock:
            if not self._topology_verified:
                await ensure_topics(self._settings, self._bootstrap)
                self._topology_verified = True


def _outcome_taken(future: "asyncio.Future[object]") -> None:
    """Mark a handed-over batch's failure as seen, whether or not ``publish_many`` was
    still waiting for it: one that fails after the ack timeout (when the producer gives
    up on it, or stops) had its events' requests answered "try again" already, and
    asyncio would otherwise log its failure as "never retrieved", with a traceback."""
    if not future.cancelled():
        future.exception()


def _loop_deadline(monotonic_deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())
