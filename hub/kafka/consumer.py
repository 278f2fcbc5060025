"""The core consumer: member events from Kafka into the membership store.

Per batch: decode, apply in one store transaction, send what can never be
applied to the dead-letter topic with its error, mark its partner request
rejected (with a callback), and only then commit the offsets. A crash anywhere
before the commit replays the batch, which the store's ``processed_events``
turns into a no-op.

Outages are waited out, never turned into dead letters: a store that cannot be
reached, a deadlock, a broker that does not answer. Only a signal stops it.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from hub.kafka.connection import client_options
from hub.kafka.ids import request_ids
from hub.observability import metrics
from hub.observability.redaction import redact
from hub.resilience import Outage, sleep_unless_stopped
from hub.settings import Settings
from hub.store.outage import is_transient
from hub.store.writer import BatchResult, IncomingEvent, MembershipWriter
from schemas.events import EventEnvelope

log = logging.getLogger(__name__)
T = TypeVar("T")


class Stopping(Exception):
    """Stop was asked while waiting out an outage: leave the batch uncommitted."""


class Record(Protocol):
    """The parts of an aiokafka ``ConsumerRecord`` the consumer uses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that can never be applied, why, and (if it says) which event it was."""

    record: Record
    error: str
    event_id: UUID | None = None


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
        self._stop = asyncio.Event()
        self._started = False
        self._store = Outage("the membership store (core consumer)", log)
        self._broker = Outage("the broker (core consumer)", log)

    async def start(self, stop: asyncio.Event | None = None) -> None:
        """Connect to the broker, waiting for it as long as it takes (or until ``stop``)."""
        if stop is not None:
            self._stop = stop
        if self._started:
            return
        await self._until_done(self._broker, self._dead_letters.start, KafkaError)
        await self._until_done(self._broker, self._consumer.start, KafkaError)
        self._started = True

    async def wait_for_partitions(self, within_s: float = 30.0) -> None:
        """Wait until the group gave this consumer partitions; TimeoutError if it did not."""
        async with asyncio.timeout(within_s):
            while not self._consumer.assignment():  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    def assigned_partitions(self) -> int:
        """How many partitions the group gave this consumer (readiness)."""
        return len(self._consumer.assignment())

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._dead_letters.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished first."""
        self._stop = stop
        while not stop.is_set():
            try:
                batches = await self._consumer.getmany(
                    timeout_ms=self._settings.kafka_consumer_poll_ms,
                    max_records=self._settings.kafka_consumer_max_batch,
                )
            except KafkaError as exc:
                await sleep_unless_stopped(stop, self._broker.failed(exc))
                continue
            self._broker.recovered()
            if batches:
                try:
                    await self.process(batches)
                except Stopping:
                    return

    async def process(self, batches: dict[TopicPartition, list[Record]]) -> None:
        records = [r for partition_records in batches.values() for r in partition_records]
        events, dead = _decode(records)
        dead.extend(await self._apply(events))
        for letter in dead:
            await self._send_dead_letter(letter)
        if dead:
            await self._reject_dead_letters(dead)
        self.stats.batches += 1
        self.stats.dead_lettered += len(dead)
        metrics.EVENTS_APPLIED.labels("dead_lettered").inc(len(dead))
        try:
            await self._consumer.commit(
                {tp: recs[-1].offset + 1 for tp, recs in batches.items() if recs}
            )
        except (CommitFailedError, KafkaError) as exc:
            # Rebalanced or the broker blinked: the batch will be replayed, harmlessly.
            log.warning("offset commit failed; the batch will be replayed: %r", exc)

    async def _reject_dead_letters(self, dead: list[DeadLetter]) -> None:
        """A partner never sees "accepted" for what will not be recorded: rejected, and why.

        The reason is stored, shown in status answers and sent in callbacks, so it goes
        through the same redaction as the logs (no NIK, phone or name in clear).
        """
        reasons = {d.event_id: redact(d.error) for d in dead if d.event_id is not None}
        if reasons:
            await self._until_done(
                self._store, lambda: self._writer.reject_dead_letters(reasons), DBAPIError
            )

    async def _until_done(
        self, outage: Outage, call: Callable[[], Awaitable[T]], *kinds: type[BaseException]
    ) -> T:
        """``call()`` until it succeeds, waiting out transient failures; ``Stopping`` on stop."""
        catch: tuple[type[BaseException], ...] = (*kinds, OSError, TimeoutError)
        while True:
            try:
                result = await call()
            except catch as exc:
                if isinstance(exc, DBAPIError) and not is_transient(exc):
                    raise
                if self._stop.is_set():
                    raise Stopping from exc
                await sleep_unless_stopped(self._stop, outage.failed(exc))
                continue
            outage.recovered()
            return result

    async def _apply(self, items: list[tuple[IncomingEvent, Record]]) -> list[DeadLetter]:
        """Apply a batch; if the store refuses it, find the event it refuses, one by one."""
        if not items:
            return []
        events = [event for event, _ in items]
        try:
            self._count(
                await self._until_done(self._store, lambda: self._apply_timed(events), DBAPIError)
            )
            return []
        except DBAPIError as exc:
            if len(items) == 1:
                event, record = items[0]
                return [
                    DeadLetter(
                        record,
                        f"the store refused the event: {exc.orig!r}",
                        event.envelope.event_id,
                    )
                ]
            log.warning(
                "the store refused a batch; applying its events one by one: %s",
                redact(repr(exc.orig)),
            )
        dead: list[DeadLetter] = []
        for item in items:
            dead.extend(await self._apply([item]))
        return dead

    async def _apply_timed(self, events: list[IncomingEvent]) -> BatchResult:
        with metrics.timed(metrics.BATCH_APPLY_SECONDS):
            return await self._writer.apply(events)

    def _count(self, result: BatchResult) -> None:
        self.stats.recorded += result.recorded
        self.stats.rejected += result.rejected
        self.stats.duplicates += result.duplicates
        metrics.EVENTS_APPLIED.labels("recorded").inc(result.recorded)
        metrics.EVENTS_APPLIED.labels("rejected").inc(result.rejected)
        metrics.EVENTS_APPLIED.labels("duplicate").inc(result.duplicates)

    async def _send_dead_letter(self, letter: DeadLetter) -> None:
        record = letter.record
        # The error quotes the event (a validation error, the store's failing row): the
        # same redaction as the logs, so the dead-letter topic holds no NIK or phone in clear.
        error = redact(letter.error)
        headers = [
            ("error", error.encode()[:4000]),
            ("source-topic", record.topic.encode()),
            ("source-partition", str(record.partition).encode()),
            ("source-offset", str(record.offset).encode()),
            ("dead-lettered-at", datetime.now(UTC).isoformat().encode()),
        ]
        await self._until_done(
            self._broker,
            lambda: self._dead_letters.send_and_wait(
                self._settings.kafka_dead_letter_topic,
                record.value,
                key=record.key,
                headers=headers,
            ),
            KafkaError,
        )
        log.error(
            "dead-lettered %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            error,
            extra={
                **request_ids(record.value),
                "partition": record.partition,
                "offset": record.offset,
            },
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
            dead.append(
                DeadLetter(record, f"not a valid event envelope: {exc}", _event_id_in(record))
            )
            continue
        events.append((IncomingEvent(envelope, record.partition, record.offset), record))
    return events, dead


def _event_id_in(record: Record) -> UUID | None:
    """The event id an undecodable record claims to carry, if it names one at all."""
    try:
        claimed = json.loads(record.value or b"").get("event_id")
        return UUID(str(claimed)) if claimed is not None else None
    except (ValueError, AttributeError, TypeError):
        return None
