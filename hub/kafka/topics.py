"""The hub's topic topology, created when missing."""

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub.settings import Settings

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings, bootstrap_servers: str) -> list[str]:
    """Create the member-events and dead-letter topics if absent; return those created."""
    from hub.kafka.connection import client_options

    admin = AIOKafkaAdminClient(**client_options(settings, bootstrap_servers))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, settings.kafka_partitions, settings.kafka_replication_factor)
            for name in (settings.kafka_member_events_topic, settings.kafka_dead_letter_topic)
            if name not in existing
        ]
        if wanted:
            await admin.create_topics(wanted)
            log.info("created topics %s", [t.name for t in wanted])
        return [t.name for t in wanted]
    finally:
        await admin.close()
