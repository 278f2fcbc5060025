"""The publisher on a real broker: a batch acknowledged together, and a broker gone away."""

import asyncio
import gc
import logging
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from hub.broker import TansuBroker
from hub.errors import BrokerUnavailable
from hub.kafka.publisher import KafkaEventPublisher
from hub.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.tansu]


async def test_a_batch_of_events_is_acknowledged_and_each_member_keeps_its_order(
    settings: Settings,
) -> None:
    publisher = KafkaEventPublisher(settings, settings.kafka_bootstrap_servers)
    await publisher.start()
    events = [
        (f"51710445089{m:05d}", f"event {m}-{n}".encode()) for n in range(5) for m in range(40)
    ]
    try:
        results = await publisher.publish_many(events)
    finally:
        await publisher.stop()
    assert results == [None] * 200

    seen = await read_back(settings, 200)
    assert len(seen) == 40
    assert [value for _, value in seen["5171044508900007"]] == [
        f"event 7-{n}".encode() for n in range(5)
    ]


async def read_back(settings: Settings, count: int) -> dict[str, list[tuple[int, bytes]]]:
    """The first ``count`` records of the member-events topic (or all within 30 s), by key:
    (partition, value) in the order read."""
    consumer = AIOKafkaConsumer(
        settings.kafka_member_events_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: dict[str, list[tuple[int, bytes]]] = {}
    try:
        deadline = time.monotonic() + 30
        while sum(map(len, seen.values())) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    seen.setdefault(record.key.decode(), []).append(
                        (record.partition, record.value)
                    )
    finally:
        await consumer.stop()
    return seen


async def test_a_batch_published_to_a_broker_gone_away_is_unavailable_event_by_event(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # As production logs aiokafka (``configure_logging``): its warnings would hold the
    # batch's error, and with it the batch, in the captured records past the test.
    caplog.set_level(logging.ERROR, logger="aiokafka")
    broker = TansuBroker()
    await broker.start()
    gone = settings.model_copy(
        update={
            "kafka_bootstrap_servers": broker.bootstrap_servers,
            "kafka_enable_idempotence": False,
            "kafka_ack_timeout_s": 1.0,
        }
    )
    publisher = KafkaEventPublisher(gone, broker.bootstrap_servers)
    await publisher.start()
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        await broker.stop()
        started = time.monotonic()
        results = await publisher.publish_many([("5171044508900001", b"x")] * 3)
        waited = time.monotonic() - started
    finally:
        await publisher.stop()
        gc.collect()  # a future whose failure nobody read is reported when collected
        loop.set_exception_handler(handler)
    assert [type(r) for r in results] == [BrokerUnavailable] * 3
    assert waited < 3.0  # one ack timeout for the batch, not one per event
    # The batch failed for good when the producer stopped, after its requests were
    # answered: that is not an error for asyncio to log ("never retrieved").
    assert [c["message"] for c in reported] == []


JAVA_CLIENT_PARTITION_OF_4 = {"5171044508900101": 3, "5171044508900102": 3, "5171044508900103": 1}


async def test_events_published_together_keep_the_partition_and_order_of_single_publishes(
    settings: Settings,
) -> None:
    # 2 KiB events, 30 a member: more than one record batch (16 KiB) per partition.
    keys = ["5171044508900101", "5171044508900102", "5171044508900103"]
    events = [(key, f"{key} {n}".encode().ljust(2048, b".")) for n in range(30) for key in keys]
    publisher = KafkaEventPublisher(settings, settings.kafka_bootstrap_servers)
    await publisher.start()
    try:
        for key in keys:
            await publisher.publish(key, f"{key} alone".encode())
        results = await publisher.publish_many(events)
        for key in keys:
            await publisher.publish(key, f"{key} after".encode())
    finally:
        await publisher.stop()
    assert results == [None] * len(events)

    seen = await read_back(settings, 32 * len(keys))
    for key in keys:
        partitions = {partition for partition, _ in seen[key]}
        values = [value.rstrip(b".") for _, value in seen[key]]
        assert len(partitions) == 1, f"{key} was spread over partitions {partitions}"
        # And it is the partition Kafka's Java client chooses for the key (kafka-clients
        # 4.1.1, Utils.toPositive(Utils.murmur2(key)) % 4), whichever way it was published.
        assert partitions == {JAVA_CLIENT_PARTITION_OF_4[key]}
        assert values == [
            f"{key} alone".encode(),
            *(f"{key} {n}".encode() for n in range(30)),
            f"{key} after".encode(),
        ]
