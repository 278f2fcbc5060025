"""A hub asked to stop stops at once, even while its broker takes connections and never answers.

A broker behind a network fault that drops packets (or one hung in its own start-up)
accepts a connection and then says nothing; a client's first request to it waits for
aiokafka's whole request timeout (40 s). An orchestrator sends SIGTERM and kills the
process after its grace period (30 s on Kubernetes), so a hub that waited that timeout
out before stopping would be killed, with what it still held.
"""

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from hub.broker import ApacheKafka, free_port
from tests.support.brokers import OwnBroker, hub_env_on
from tests.support.hubproc import started_hub, wait_healthy
from tests.support.partner import SignedClient
from tests.support.people import applicant

STOPPED_WITHIN_S = 3.0


class SilentBroker:
    """A TCP listener on loopback that accepts connections and never writes a byte."""

    def __init__(self) -> None:
        self.connections = 0
        self._open: list[asyncio.StreamWriter] = []

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.append(writer)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"127.0.0.1:{port}"
        finally:
            for writer in self._open:
                writer.close()
            server.close()


async def _until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {within_s:.0f} s"
        await asyncio.sleep(0.05)


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return (await client.get(url)).status_code == 200
    except httpx.TransportError:
        return False


async def _seconds_to_stop(
    process: asyncio.subprocess.Process, within_s: float, what: str
) -> float:
    """SIGTERM ``process``; the seconds until it exited (failing after ``within_s``)."""
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), within_s)
    except TimeoutError:
        pytest.fail(f"{what} still running {within_s:.0f} s after SIGTERM")
    return time.monotonic() - signalled


@pytest.mark.parametrize(
    ("command", "moment"),
    [("run", "starting"), ("run", "serving"), ("consume", "serving")],
)
async def test_sigterm_stops_the_hub_within_three_seconds_while_the_broker_never_answers(
    command: str, moment: str, database_url: str, tmp_path: Path
) -> None:
    silent = SilentBroker()
    port = free_port()
    log_path = tmp_path / "hub.log"
    async with silent.listening() as bootstrap:
        env = {"HUB_DATABASE_URL": database_url, "HUB_KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        process = await started_hub(env, log_path, command, port)
        try:
            # Its signal handlers are in place once it talks to the broker.
            await _until(lambda: silent.connections > 0, 60, "no connection to the broker")
            url = f"http://127.0.0.1:{port}"
            if moment == "serving":  # after the start-up's wait for the broker (10 s)
                await wait_healthy(url, process, log_path, "/livez")
            else:
                assert not await _answers(f"{url}/livez")
            took = await _seconds_to_stop(process, 20, f"hub {command} ({moment})")
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    print(f"hub {command}, {moment}: stopped {took:.2f} s after SIGTERM")
    assert process.returncode == 0, log_path.read_text()[-3000:]
    assert took <= STOPPED_WITHIN_S, f"stopped {took:.2f} s after SIGTERM"


async def test_a_hub_whose_broker_froze_while_serving_stops_within_twelve_seconds_of_sigterm(
    database_url: str, own_broker: OwnBroker, tmp_path: Path
) -> None:
    """Frozen (SIGSTOP): connected, then silent. The request in flight is told to retry;
    the event the producer still holds for it is not waited for (aiokafka would hold it
    for good), nor is the consumer's goodbye to its group (40 s). Each waits at most the
    ack timeout (5 s), and they wait together: the request in flight or the last commits
    (about 5 s), then the closing (5 s); one after another they took 14 s."""
    broker = own_broker.broker
    assert isinstance(broker, ApacheKafka)
    port = free_port()
    log_path = tmp_path / "hub.log"
    process = await started_hub(hub_env_on(broker, database_url, "frozen"), log_path, "run", port)
    url = f"http://127.0.0.1:{port}"
    client = SignedClient(url)
    broker_pid = broker.pid()
    assert broker_pid is not None
    try:
        await wait_healthy(url, process, log_path, "/readyz")
        assert (await client.post("/v1/registrations", applicant())).status_code == 202
        os.kill(broker_pid, signal.SIGSTOP)
        in_flight = asyncio.create_task(client.post("/v1/registrations", applicant()))
        await asyncio.sleep(1.0)
        took = await _seconds_to_stop(process, 60, "hub run")
        assert (await in_flight).status_code == 503
    finally:
        os.kill(broker_pid, signal.SIGCONT)
        if process.returncode is None:
            process.kill()
            await process.wait()
        await client.aclose()
    print(f"hub run, broker frozen: stopped {took:.2f} s after SIGTERM")
    assert process.returncode == 0, log_path.read_text()[-3000:]
    assert took <= 12.0, f"stopped {took:.2f} s after SIGTERM"
