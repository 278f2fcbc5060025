"""Shared fixtures: one real Tansu broker and one fresh PostgreSQL database per test session."""

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

os.environ.setdefault("HUB_ENV", "test")

from hub.broker import EmbeddedBroker
from hub.settings import Settings, load_settings
from hub.store.migrations import upgrade_to_head_async

PG_ADMIN_DSN = os.environ.get("HUB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
async def broker() -> AsyncIterator[EmbeddedBroker]:
    """The real Kafka-compatible broker (Tansu), once per session."""
    tansu = EmbeddedBroker()
    await tansu.start()
    yield tansu
    await tansu.stop()


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this session, dropped afterwards."""
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{url}/{name}"
    try:
        await upgrade_to_head_async(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def topic_suffix() -> str:
    """Each test gets its own topics and consumer group on the shared broker."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def settings(broker: EmbeddedBroker, database_url: str, topic_suffix: str) -> Settings:
    return load_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        database_url=database_url,
        kafka_member_events_topic=f"member-events-{topic_suffix}",
        kafka_dead_letter_topic=f"member-events-dlq-{topic_suffix}",
        kafka_consumer_group=f"core-{topic_suffix}",
        kafka_partitions=4,
    )
