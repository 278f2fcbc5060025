"""A running hub (``python -m hub run``) on the session's broker and a database of its own.

The e2e hub's re-drive loop republishes every accepted request its database holds,
and ``hub reconcile internal`` checks all of today's: on the session's shared database
both took in rows other tests had planted (payments whose stored event is ``{}``),
so what the e2e tests saw depended on which tests had run before them.
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from hub.broker import Broker, free_port
from hub.ops.passwords import hash_password
from tests.conftest import PG_ADMIN_DSN
from tests.support.brokers import OwnBroker, hub_env_on
from tests.support.callback_server import CallbackServer, callback_server
from tests.support.hubproc import configured_env, running_hub
from tests.support.partner import SignedClient
from tests.support.store import asyncpg_dsn, own_database


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """The e2e tests' own fresh, migrated database (overrides the session's)."""
    async with own_database(PG_ADMIN_DSN, "hub_e2e") as url:
        yield url


@pytest.fixture(scope="session")
def bni46_port() -> int:
    """The port the e2e hub's ISO 8583 (BNI 46) server listens on."""
    return free_port()


@pytest.fixture(scope="session")
async def partner_callbacks() -> AsyncIterator[CallbackServer]:
    """The callback endpoint of partner ``callme`` (a hub-api partner with a callback URL)."""
    async with callback_server() as server:
        yield server


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[OwnBroker]:
    """A started broker of this test alone (data in ``tmp_path``), stopped after it."""
    own = OwnBroker(tmp_path / "broker")
    await own.broker.start()
    yield own
    await own.broker.stop()


OPERATOR = "ayu"
OPERATOR_PASSWORD = "operator-test-password"
# Computed once: scrypt is deliberately slow.
_OPERATOR_HASH = hash_password(OPERATOR_PASSWORD, salt=b"e2e-fixed-salt!!")


@pytest.fixture(scope="session")
def hub_env(
    broker: Broker,
    database_url: str,
    bni46_port: int,
    partner_callbacks: CallbackServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """The environment of the e2e hub; ``hub`` commands run with it see the same hub."""
    return {
        **configured_env(
            bni46={"port": bni46_port},
            partners={
                "callme": {
                    "secret": CALLME_SECRET,
                    "channel": "hub-api",
                    "callback_url": partner_callbacks.url,
                }
            },
        ),
        # Seconds, not minutes, between callback attempts, so a retried delivery is seen.
        "HUB_CALLBACK_INITIAL_BACKOFF_S": "0.2",
        "HUB_CALLBACK_MAX_BACKOFF_S": "1",
        "HUB_CALLBACK_POLL_S": "0.05",
        **hub_env_on(broker, database_url, "e2e"),
        "HUB_RECONCILIATION_OUTPUT_DIR": str(tmp_path_factory.mktemp("reconciliation")),
        "HUB_OPERATORS": json.dumps({OPERATOR: {"password_hash": _OPERATOR_HASH}}),
        "HUB_OPS_SESSION_SECRET": "e2e-session-secret",
        # Seconds, not minutes: a request the consumer dead-lettered shows as stuck.
        "HUB_STUCK_AFTER_S": "1",
    }


@pytest.fixture(scope="session")
async def hub_url(
    hub_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with running_hub(hub_env, tmp_path_factory.mktemp("hub") / "hub.log") as url:
        yield url


@pytest.fixture
async def http(hub_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client of the running hub (a partner's own signing is the test's)."""
    async with httpx.AsyncClient(base_url=hub_url, timeout=30) as client:
        yield client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the e2e hub's PostgreSQL, to check what the hub stored."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


@pytest.fixture
async def demo(hub_url: str) -> AsyncIterator[SignedClient]:
    client = SignedClient(hub_url)
    yield client
    await client.aclose()


CALLME_SECRET = "callme-secret"


@pytest.fixture
async def callme(hub_url: str) -> AsyncIterator[SignedClient]:
    """A hub-api partner whose callback URL is the ``partner_callbacks`` server."""
    client = SignedClient(hub_url, "callme", CALLME_SECRET)
    yield client
    await client.aclose()


@pytest.fixture
async def other(hub_url: str) -> AsyncIterator[SignedClient]:
    client = SignedClient(hub_url, "other", "other-secret")
    yield client
    await client.aclose()


@pytest.fixture
def repo() -> Path:
    return Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The log-redaction test reads what every other end-to-end test made the hub log: last."""
    last = [i for i in items if "test_log_redaction" in i.nodeid]
    items[:] = [i for i in items if i not in last] + last
