"""Consumer lag as kafka-ui shows it: the broker's end offsets minus the group's commits.

Read from the broker alone, so a process that does not consume (``hub api``) sees the
lag too, and a partition nobody has consumed yet counts from its first offset.
"""

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.kafka.connection import client_options
from hub.settings import Settings


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    committed: int | None
    """The group's committed offset; None when it never committed on this partition."""
    lag: int


def lag_of(end: int, beginning: int, committed: int | None) -> int:
    """What is left to consume: from the commit, or from the first offset kept if none."""
    start = beginning if committed is None or committed < 0 else max(committed, beginning)
    return max(end - start, 0)


async def topic_partitions(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (empty if it does not exist), asked of the cluster.

    A group-less consumer's ``partitions_for_topic`` only knows topics it subscribed to
    (Apache Kafka sends metadata for what is asked), so ask with a metadata request.
    """
    for described in await admin.describe_topics([topic]):
        if described.get("topic") == topic and described.get("error_code") == 0:
            return sorted(int(p["partition"]) for p in described.get("partitions", []))
    return []


class BrokerProbe:
    """A group-less client for metadata and offsets; reconnects by itself after an outage."""

    def __init__(self, settings: Settings, bootstrap_servers: str) -> None:
        self._settings = settings
        self._options = client_options(settings, bootstrap_servers)
        self._offsets: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def _clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self._offsets is None:
            consumer = AIOKafkaConsumer(**self._options, group_id=None, enable_auto_commit=False)
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._offsets = consumer
        if self._admin is None:
            admin = AIOKafkaAdminClient(**self._options)
            try:
                await admin.start()
            except BaseException:
                await admin.close()
                raise
            self._admin = admin
        return self._offsets, self._admin

    async def metadata(self) -> set[str]:
        """The topics the cluster knows, within ``readiness_timeout_s`` or TimeoutError."""
        async with asyncio.timeout(self._settings.readiness_timeout_s):
            consumer, _ = await self._clients()
            topics: set[str] = await consumer.topics()
            return topics

    async def lag(self, topic: str | None = None, group: str | None = None) -> list[PartitionLag]:
        """Lag per partition of ``topic`` for consumer ``group`` (default: the core consumer)."""
        topic = topic or self._settings.kafka_member_events_topic
        group = group or self._settings.kafka_consumer_group
        async with asyncio.timeout(self._settings.readiness_timeout_s * 3):
            consumer, admin = await self._clients()
            partitions = await topic_partitions(admin, topic)
            if not partitions:
                return []
            tps = [TopicPartition(topic, p) for p in partitions]
            ends = await consumer.end_offsets(tps)
            beginnings = await consumer.beginning_offsets(tps)
            commits = await admin.list_consumer_group_offsets(group, partitions=tps)
        rows = []
        for tp in tps:
            meta = commits.get(tp)
            committed = None if meta is None or meta.offset < 0 else meta.offset
            rows.append(
                PartitionLag(
                    topic,
                    tp.partition,
                    ends[tp],
                    committed,
                    lag_of(ends[tp], beginnings[tp], committed),
                )
            )
        return rows

    async def close(self) -> None:
        if self._offsets is not None:
            await self._offsets.stop()
            self._offsets = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def reset(self) -> None:
        """Drop the clients after a failure; the next call connects afresh."""
        try:
            await self.close()
        except Exception:  # noqa: BLE001 - closing a broken client must not stop the probe
            self._offsets = None
            self._admin = None
