"""Shared fixtures: one real broker and one fresh PostgreSQL database per test session.

The broker is Apache Kafka with the idempotent producer, as in production. With
HUB_TEST_BROKER=tansu (``make pytest-tansu``) the tests marked ``tansu`` run on the
Tansu fallback that ``hub run`` uses where there is no Java.
"""

import os
import uuid
from collections.abc import AsyncIterator

import pytest

os.environ.setdefault("HUB_ENV", "test")

from hub.broker import Broker
from hub.settings import Settings, load_settings
from tests.support.brokers import TEST_BROKER, new_broker
from tests.support.store import own_database

PG_ADMIN_DSN = os.environ.get("HUB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_report_header() -> str:
    return f"broker: {TEST_BROKER} (HUB_TEST_BROKER)"


@pytest.fixture(scope="session")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Broker]:
    """The session's real broker (Apache Kafka unless HUB_TEST_BROKER=tansu), started once."""
    started = new_broker(tmp_path_factory.mktemp("broker"))
    await started.start()
    yield started
    await started.stop()


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this session, dropped afterwards."""
    async with own_database(PG_ADMIN_DSN) as url:
        yield url


@pytest.fixture
def topic_suffix() -> str:
    """Each test gets its own topics and consumer group on the shared broker."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def settings(broker: Broker, database_url: str, topic_suffix: str) -> Settings:
    return load_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_enable_idempotence=broker.idempotence,
        database_url=database_url,
        kafka_member_events_topic=f"member-events-{topic_suffix}",
        kafka_dead_letter_topic=f"member-events-dlq-{topic_suffix}",
        kafka_consumer_group=f"core-{topic_suffix}",
        kafka_partitions=4,
    )
