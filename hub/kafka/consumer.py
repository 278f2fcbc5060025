"""The core consumer: member events from Kafka into the membership store.

Per batch: decode, apply in one store transaction, send what can never be
applied to the dead-letter topic with its error, and only then commit the
offsets. A crash anywhere before the commit replays the batch, which the
store's ``processed_events`` turns into a no-op.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import AsyncRetrying, retry_if_exception, retry_if_exception_type, wait_exponential

from hub.kafka.connection import client_options
from hub.settings import Settings
from hub.store.writer import BatchResult, IncomingEvent, MembershipWriter
from schemas.events import EventEnvelope

log = logging.getLogger(__name__)


class Record(Protocol):
    """The parts of an aiokafka ``ConsumerRecord`` the consumer uses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _is_store_outage(exc: BaseException) -> bool:
    """The store is down or the connection broke: wait and retry, never dead-letter."""
    if isinstance(exc, OperationalError | InterfaceError | OSError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: Record
    error: str


@dataclass(slots=True)
class ConsumerStats:
    """Running totals, for logs and the operator's view."""

    batches: int = 0
    recorded: int = 0
    rejected: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


class CoreConsumer:
    """Consumes the member-events topic in a consumer group, committing after the store."""

    def __init__(
        self, settings: Settings, bootstrap_servers: str, writer: MembershipWriter
    ) -> None:
        self._settings = settings
        self._writer = writer
        options = client_options(settings, bootstrap_servers)
        self._consumer = AIOKafkaConsumer(
            settings.kafka_member_events_topic,
            **options,
            group_id=settings.kafka_consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.kafka_consumer_max_batch,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            session_timeout_ms=settings.kafka_consumer_session_timeout_ms,
            heartbeat_interval_ms=max(settings.kafka_consumer_session_timeout_ms // 4, 100),
        )
        self._dead_letters = AIOKafkaProducer(
            **options, acks="all", enable_idempotence=settings.kafka_enable_idempotence
        )
        self.stats = ConsumerStats()

    async def start(self) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((KafkaError, OSError)),
            wait=wait_exponential(multiplier=0.1, max=2),
            reraise=True,
        ):
            with attempt:
                await self._dead_letters.start()
        await self._consumer.start()

    async def wait_for_partitions(self, within_s: float = 30.0) -> None:
        """Wait until the group gave this consumer partitions; TimeoutError if it did not."""
        async with asyncio.timeout(within_s):
            while not self._consumer.assignment():  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._dead_letters.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished first."""
        while not stop.is_set():
            try:
                batches = await self._consumer.getmany(
                    timeout_ms=self._settings.kafka_consumer_poll_ms,
                    max_records=self._settings.kafka_consumer_max_batch,
                )
            except KafkaError as exc:
                log.warning("fetch failed, retrying: %r", exc)
                await asyncio.sleep(0.5)
                continue
            if batches:
                await self.process(batches)

    async def process(self, batches: dict[TopicPartition, list[Record]]) -> None:
        records = [r for partition_records in batches.values() for r in partition_records]
        events, dead = _decode(records)
        dead.extend(await self._apply(events))
        for letter in dead:
            await self._send_dead_letter(letter)
        self.stats.batches += 1
        self.stats.dead_lettered += len(dead)
        try:
            await self._consumer.commit(
                {tp: recs[-1].offset + 1 for tp, recs in batches.items() if recs}
            )
        except (CommitFailedError, KafkaError) as exc:
            # Rebalanced or the broker blinked: the batch will be replayed, harmlessly.
            log.warning("offset commit failed; the batch will be replayed: %r", exc)

    async def _apply(self, items: list[tuple[IncomingEvent, Record]]) -> list[DeadLetter]:
        """Apply a batch; if the store refuses it, find the event it refuses, one by one."""
        if not items:
            return []
        try:
            await self._apply_waiting_out_outages([event for event, _ in items])
            return []
        except DBAPIError as exc:
            if len(items) == 1:
                return [DeadLetter(items[0][1], f"the store refused the event: {exc.orig!r}")]
            log.warning("the store refused a batch; applying its events one by one: %r", exc.orig)
        dead: list[DeadLetter] = []
        for item in items:
            dead.extend(await self._apply([item]))
        return dead

    async def _apply_waiting_out_outages(self, events: list[IncomingEvent]) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_store_outage),
            wait=wait_exponential(multiplier=0.2, max=10),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "store unavailable, retrying the batch: %r",
                state.outcome.exception() if state.outcome else None,
            ),
        ):
            with attempt:
                self._count(await self._writer.apply(events))

    def _count(self, result: BatchResult) -> None:
        self.stats.recorded += result.recorded
        self.stats.rejected += result.rejected
        self.stats.duplicates += result.duplicates

    async def _send_dead_letter(self, letter: DeadLetter) -> None:
        record = letter.record
        headers = [
            ("error", letter.error.encode()[:4000]),
            ("source-topic", record.topic.encode()),
            ("source-partition", str(record.partition).encode()),
            ("source-offset", str(record.offset).encode()),
            ("dead-lettered-at", datetime.now(UTC).isoformat().encode()),
        ]
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(KafkaError),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
        ):
            with attempt:
                await self._dead_letters.send_and_wait(
                    self._settings.kafka_dead_letter_topic,
                    record.value,
                    key=record.key,
                    headers=headers,
                )
        log.error(
            "dead-lettered %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            letter.error,
        )


def _decode(
    records: Sequence[Record],
) -> tuple[list[tuple[IncomingEvent, Record]], list[DeadLetter]]:
    events: list[tuple[IncomingEvent, Record]] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            envelope = EventEnvelope.model_validate_json(record.value or b"")
        except ValidationError as exc:
            dead.append(DeadLetter(record, f"not a valid event envelope: {exc}"))
            continue
        events.append((IncomingEvent(envelope, record.partition, record.offset), record))
    return events, dead
