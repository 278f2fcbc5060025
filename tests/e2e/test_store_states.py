"""The membership store refusing writes for a while: partners are told to try again, and
the hub recovers by itself once the store takes writes, with nothing lost or rejected.

A store goes read-only when it fails over (the old primary is demoted while the pool
still holds connections to it) or when an operator makes it so for maintenance. Here
PostgreSQL itself is made read-only for the hub's database (``ALTER DATABASE ... SET
default_transaction_read_only``, with the hub's connections ended so that it reconnects
to a read-only store), then writable again *without* ending the hub's connections: the
ones it opened meanwhile stay read-only, as connections to a demoted primary would.
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.e2e.polling import resent_while, wait_for_status
from tests.support.brokers import OwnBroker, hub_env_on
from tests.support.hubproc import running_hub
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.store import own_database


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    """A database of this test alone: it is made read-only, which no other test may see."""
    async with own_database(PG_ADMIN_DSN, "hub_read_only") as url:
        yield url


async def _read_only(name: str, on: bool, end_connections: bool) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        setting = "on" if on else "off"
        await admin.execute(
            f'ALTER DATABASE "{name}" SET default_transaction_read_only = {setting}'
        )
        if end_connections:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await admin.close()


def _assert_try_again(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "temporarily_unavailable"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.e2e
async def test_a_read_only_store_is_a_503_and_the_hub_recovers_by_itself_when_it_takes_writes(
    store_url: str, own_broker: OwnBroker, tmp_path: Path
) -> None:
    name = store_url.rsplit("/", 1)[1]
    env = hub_env_on(own_broker.broker, store_url, f"read-only-{uuid.uuid4().hex[:6]}")
    async with running_hub(env, tmp_path / "hub.log") as url:
        client = SignedClient(url)
        before = applicant()
        assert (await client.post("/v1/registrations", before)).status_code == 202
        await wait_for_status(client, f"/v1/registrations/{before['reference']}", "recorded", 30)

        await _read_only(name, on=True, end_connections=True)
        during = applicant()
        try:
            for _ in range(3):
                _assert_try_again(await client.post("/v1/registrations", during))
        finally:
            await _read_only(name, on=False, end_connections=False)

        # The hub's connections opened while the store was read-only still are: the hub
        # must drop them itself, not keep answering 503 to a store that takes writes.
        accepted = await resent_while(
            lambda: client.post("/v1/registrations", during), 503, within_s=20, pause_s=0.5
        )
        assert accepted.status_code == 202, accepted.text
        await wait_for_status(client, f"/v1/registrations/{during['reference']}", "recorded", 30)
        await client.aclose()

    log = (tmp_path / "hub.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    conn = await asyncpg.connect(store_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT reference, status FROM partner_requests ORDER BY id")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [
        (before["reference"], "recorded"),
        (during["reference"], "recorded"),
    ]
