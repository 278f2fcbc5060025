"""What the hub wrote to a Kafka topic, read from the start by a consumer of no group."""

from aiokafka import AIOKafkaConsumer, ConsumerRecord


async def read_topic(
    bootstrap_servers: str, topic: str, *, first_within_ms: int = 10_000, idle_ms: int = 2_000
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on ``topic``: waits up to ``first_within_ms`` for the first batch, then
    reads until the broker has had nothing more for ``idle_ms``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        timeout_ms = first_within_ms
        while batch := await consumer.getmany(timeout_ms=timeout_ms):
            for partition_records in batch.values():
                records.extend(partition_records)
            timeout_ms = idle_ms
        return records
    finally:
        await consumer.stop()
