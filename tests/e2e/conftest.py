"""A running hub (``python -m hub run``) on the session's Tansu and PostgreSQL."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.broker import EmbeddedBroker, free_port
from hub.settings import load_settings
from tests.support.hubproc import running_hub
from tests.support.partner import SignedClient


@pytest.fixture(scope="session")
def bni46_port() -> int:
    """The port the e2e hub's ISO 8583 (BNI 46) server listens on."""
    return free_port()


@pytest.fixture(scope="session")
async def hub_url(
    broker: EmbeddedBroker,
    database_url: str,
    bni46_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    channels = load_settings().channels
    channels["bni46"] = {**channels["bni46"], "port": bni46_port}
    env = {
        "HUB_CHANNELS": json.dumps(channels),
        "HUB_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "HUB_DATABASE_URL": database_url,
        "HUB_KAFKA_MEMBER_EVENTS_TOPIC": "e2e-member-events",
        "HUB_KAFKA_DEAD_LETTER_TOPIC": "e2e-member-events-dlq",
        "HUB_KAFKA_CONSUMER_GROUP": "e2e-core",
    }
    async with running_hub(env, tmp_path_factory.mktemp("hub") / "hub.log") as url:
        yield url


@pytest.fixture
async def demo(hub_url: str) -> AsyncIterator[SignedClient]:
    client = SignedClient(hub_url)
    yield client
    await client.aclose()


@pytest.fixture
def repo() -> Path:
    return Path(__file__).resolve().parents[2]
