"""The dead-letter topic, read like kafka-ui's message view: each letter, its error, its event.

A letter's id is ``<partition>-<offset>`` on the dead-letter topic. Reading uses a
group-less consumer, so looking never moves anyone's offsets.
"""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.kafka.connection import client_options
from hub.observability.lag import topic_partitions
from hub.observability.redaction import redact, redact_value
from hub.settings import Settings
from schemas.fields import ascii_digits


class UnknownDeadLetter(LookupError):
    """No dead letter with that id."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    partition: int
    offset: int
    dead_lettered_at: datetime
    error: str
    """Redacted, as the consumer wrote it (and redacted again, for letters from before)."""
    source: str
    key: bytes | None
    value: bytes | None
    event_id: str | None
    event_type: str | None
    partner_id: str | None
    reference: str | None

    def masked_event(self) -> Any:
        """The event as an operator may see it: personal data masked."""
        try:
            return redact_value(json.loads(self.value or b""))
        except ValueError:
            return redact((self.value or b"").decode(errors="replace"))


def parse_id(letter_id: str) -> tuple[int, int]:
    partition, sep, offset = letter_id.partition("-")
    if not sep or not ascii_digits(partition) or not ascii_digits(offset):
        raise UnknownDeadLetter(f"{letter_id!r} is not a dead-letter id (PARTITION-OFFSET)")
    return int(partition), int(offset)


def _letter(record: Any) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
    try:
        raw = json.loads(record.value or b"")
    except ValueError:
        raw = None
    fields = raw if isinstance(raw, dict) else {}
    source = (
        f"{headers.get('source-topic', '?')}[{headers.get('source-partition', '?')}]"
        f"@{headers.get('source-offset', '?')}"
    )
    return DeadLetter(
        id=f"{record.partition}-{record.offset}",
        partition=record.partition,
        offset=record.offset,
        dead_lettered_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        error=redact(headers.get("error", "")),
        source=source,
        key=record.key,
        value=record.value,
        event_id=_str(fields.get("event_id")),
        event_type=_str(fields.get("event_type")),
        partner_id=_str(fields.get("partner_id")),
        reference=_str(fields.get("partner_ref")),
    )


def _str(value: object) -> str | None:
    return None if value is None else str(value)


class DeadLetterTopic:
    def __init__(self, settings: Settings, bootstrap_servers: str) -> None:
        self._settings = settings
        self._bootstrap = bootstrap_servers
        self.topic = settings.kafka_dead_letter_topic

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **client_options(self._settings, self._bootstrap),
            group_id=None,
            enable_auto_commit=False,
        )

    async def _partitions(self) -> list[int]:
        admin = AIOKafkaAdminClient(**client_options(self._settings, self._bootstrap))
        await admin.start()
        try:
            return await topic_partitions(admin, self.topic)
        finally:
            await admin.close()

    async def letters(self, limit: int = 500, within_s: float = 10.0) -> list[DeadLetter]:
        """The newest ``limit`` dead letters, newest first."""
        consumer = self._consumer()
        await consumer.start()
        try:
            async with asyncio.timeout(within_s):
                tps = [TopicPartition(self.topic, p) for p in await self._partitions()]
                if not tps:
                    return []
                consumer.assign(tps)
                ends = await consumer.end_offsets(tps)
                beginnings = await consumer.beginning_offsets(tps)
                for tp in tps:
                    consumer.seek(tp, max(beginnings[tp], ends[tp] - limit))
                found: list[DeadLetter] = []
                remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
                while remaining:
                    batch = await consumer.getmany(*remaining, timeout_ms=500)
                    for tp, records in batch.items():
                        found.extend(_letter(r) for r in records if r.offset < ends[tp])
                    remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        finally:
            await consumer.stop()
        found.sort(key=lambda d: (d.dead_lettered_at, d.partition, d.offset), reverse=True)
        return found[:limit]

    async def letter(self, letter_id: str, within_s: float = 10.0) -> DeadLetter:
        """One dead letter by id; UnknownDeadLetter if there is none."""
        partition, offset = parse_id(letter_id)
        tp = TopicPartition(self.topic, partition)
        consumer = self._consumer()
        await consumer.start()
        try:
            async with asyncio.timeout(within_s):
                if partition not in await self._partitions():
                    raise UnknownDeadLetter(f"no dead letter {letter_id}")
                consumer.assign([tp])
                end = (await consumer.end_offsets([tp]))[tp]
                beginning = (await consumer.beginning_offsets([tp]))[tp]
                if not beginning <= offset < end:
                    raise UnknownDeadLetter(f"no dead letter {letter_id}")
                consumer.seek(tp, offset)
                while True:
                    batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
                    for record in batch.get(tp, []):
                        if record.offset == offset:
                            return _letter(record)
                        raise UnknownDeadLetter(f"no dead letter {letter_id}")
        finally:
            await consumer.stop()
