"""Operators' probes: lag visible without a consumer, readiness that follows dependencies."""

import asyncio
import statistics
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from hub.broker import Broker
from tests.support.brokers import OwnBroker, hub_env_on
from tests.support.hubproc import running_hub
from tests.support.metrics import samples
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.tcp_proxy import TcpProxy


async def _total_lag(url: str, topic: str) -> float:
    return sum(
        v for labels, v in await samples(url, "hub_consumer_lag") if labels["topic"] == topic
    )


async def _wait_for_lag(url: str, topic: str, wanted: float, within_s: float) -> float:
    started = time.monotonic()
    seen = -1.0
    while time.monotonic() - started < within_s:
        seen = await _total_lag(url, topic)
        if seen == wanted:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise AssertionError(f"lag on {topic} was {seen}, not {wanted}, after {within_s} s")


async def test_the_api_process_shows_a_lag_of_100_with_no_consumer_and_0_once_one_runs(
    broker: Broker, database_url: str, tmp_path: Path
) -> None:
    env = hub_env_on(broker, database_url, f"lag-{uuid.uuid4().hex[:8]}")
    topic = env["HUB_KAFKA_MEMBER_EVENTS_TOPIC"]
    async with running_hub(env, tmp_path / "api.log", command="api") as api:
        client = SignedClient(api)
        people = [applicant() for _ in range(100)]
        # One at a time: Tansu (unlike Apache Kafka) reports a partition's end offset as one
        # past the last record *batch*, so concurrent posts batched together would under-count.
        for person in people:
            assert (await client.post("/v1/registrations", person)).status_code == 202
        took = await _wait_for_lag(api, topic, 100, within_s=25)
        print(f"api process: lag 100 seen {took:.1f} s after the last acknowledgement")
        ready = (await client.http.get("/readyz")).json()
        assert set(ready["checks"]) == {"store", "broker"}, "the API process does not consume"

        async with running_hub(env, tmp_path / "consume.log", command="consume") as consumer:
            took = await _wait_for_lag(api, topic, 0, within_s=40)
            print(f"api process: lag back to 0 {took:.1f} s after `hub consume` started")
            recorded = await samples(consumer, "hub_events_applied_total")
            assert ({"outcome": "recorded"}, 100.0) in recorded
            probe = (await client.http.get(f"{consumer}/readyz")).json()
            assert probe["checks"]["partitions"]["ok"] is True
            assert await _total_lag(consumer, topic) in (0.0, 100.0)  # its own 10 s refresh
        for p in people[:3]:
            status = (await client.get(f"/v1/registrations/{p['reference']}")).json()
            assert status["status"] == "recorded"
        await client.aclose()


async def _poll_ready(url: str, wanted: int, within_s: float) -> tuple[float, dict[str, object]]:
    started = time.monotonic()
    body: dict[str, object] = {}
    async with httpx.AsyncClient() as client:
        while time.monotonic() - started < within_s:
            response = await client.get(f"{url}/readyz")
            body = response.json()
            if response.status_code == wanted:
                return time.monotonic() - started, body
            await asyncio.sleep(0.2)
    raise AssertionError(f"/readyz not {wanted} within {within_s} s: {body}")


async def _unready_for(url: str, down: str, up: str) -> None:
    """/readyz turns 503 within 10 s, its checks say ``down`` failed and ``up`` did not,
    and it keeps answering fast (median under 100 ms) while ``down`` stays down."""
    took, body = await _poll_ready(url, 503, 10)
    print(f"{down} down: /readyz 503 after {took:.1f} s: {body}")
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks[down]["ok"] is False
    assert checks[up]["ok"] is True
    times = await _answer_times(url)
    print(f"/readyz while the {down} is down: median {statistics.median(times) * 1000:.1f} ms")
    assert statistics.median(times) < 0.1


async def _answer_times(url: str, n: int = 20) -> list[float]:
    times = []
    async with httpx.AsyncClient() as client:
        for _ in range(n):
            started = time.monotonic()
            await client.get(f"{url}/readyz")
            times.append(time.monotonic() - started)
    return times


async def test_readyz_is_503_while_the_store_is_unreachable_and_200_within_10_s_of_recovery(
    broker: Broker, database_url: str, tmp_path: Path
) -> None:
    pg = urlsplit(database_url.replace("postgresql+asyncpg", "postgresql"))
    proxy = TcpProxy(pg.hostname or "127.0.0.1", pg.port or 5432)
    await proxy.start()
    proxied_url = database_url.replace(f":{pg.port}/", f":{proxy.port}/")
    env = {
        **hub_env_on(broker, proxied_url, f"ready-{uuid.uuid4().hex[:8]}"),
        # The callback dispatcher polls the store often: the process must outlive the cut.
        "HUB_CALLBACK_POLL_S": "0.05",
    }
    try:
        async with running_hub(env, tmp_path / "hub.log") as url:
            await _poll_ready(url, 200, 10)
            await proxy.cut()
            await _unready_for(url, down="store", up="broker")
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{url}/livez")).status_code == 200
            await proxy.restore()
            took, _ = await _poll_ready(url, 200, 10)
            print(f"store back: /readyz 200 after {took:.1f} s")
    finally:
        await proxy.cut()


async def test_readyz_is_503_while_the_broker_is_down_and_200_within_10_s_of_recovery(
    database_url: str, own_broker: OwnBroker, tmp_path: Path
) -> None:
    env = hub_env_on(own_broker.broker, database_url, f"readyb-{uuid.uuid4().hex[:8]}")
    async with running_hub(env, tmp_path / "hub.log", command="api") as url:
        await _poll_ready(url, 200, 10)
        await own_broker.broker.stop()
        await _unready_for(url, down="broker", up="store")
        await own_broker.restart_in_place()
        took, _ = await _poll_ready(url, 200, 10)
        print(f"broker back: /readyz 200 after {took:.1f} s")
