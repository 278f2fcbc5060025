"""`hub simulate` drives every channel in its own protocol, and only ever this machine."""

import asyncio
import time

import httpx

from tests.e2e.perisai_agent import AgentApp, issue_agent
from tests.support.hubproc import REPO, hub_cli
from tests.support.metrics import samples

CHANNELS = ("hub-api", "pos", "brilink", "bni46", "indomaret", "alfamart", "bank", "perisai")


async def _known_agent(hub_url: str, hub_env: dict[str, str]) -> str:
    """An agent issued as an operator does (``hub agents add``), once the API knows it
    (within agent_refresh_s): ``AGENT_ID:KEY`` for ``--perisai-agent``."""
    agent_id, key = await issue_agent(hub_env, "Simulated agent")
    async with httpx.AsyncClient(base_url=hub_url, timeout=10) as client:
        agent = AgentApp(client, agent_id, key)
        deadline = time.monotonic() + 15
        while (await agent.get("/v1/registrations/NONE")).status_code == 401:
            assert time.monotonic() < deadline, "the new agent was not taken within 15 s"
            await asyncio.sleep(0.25)
    return f"{agent_id}:{key}"


async def test_the_simulator_gets_every_channel_through_intake_in_its_own_protocol(
    hub_url: str, hub_env: dict[str, str], bni46_port: int
) -> None:
    key = REPO / "tests" / "channels" / "bank" / "keys" / "bank-private.pem"
    agent = await _known_agent(hub_url, hub_env)
    before = await samples(hub_url, "hub_requests_total")
    result = await hub_cli(
        hub_env,
        "simulate",
        "--url", hub_url,
        "--rate", "30",
        "--duration", "4",
        "--bni46-port", str(bni46_port),
        "--bank-key", str(key),
        "--seed", "7",
        "--perisai-agent", agent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    rows = {
        cells[0]: cells
        for line in result.stdout.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 6
    }
    for channel in CHANNELS:
        assert channel in rows, f"{channel} sent nothing: {result.stdout}"
        assert int(rows[channel][2]) > 0, f"{channel}: nothing succeeded: {rows[channel]}"
        # A retry resends the very same request and gets the same answer; a bad one is
        # refused in the partner's codes: nothing else.
        assert int(rows[channel][4]) == 0, f"{channel}: unexpected answers: {rows[channel]}"
    after = await samples(hub_url, "hub_requests_total")

    def accepted(sample: list[tuple[dict[str, str], float]], channel: str) -> float:
        return sum(
            v
            for labels, v in sample
            if labels["channel"] == channel and labels["outcome"] == "accepted"
        )

    for channel in CHANNELS:
        assert accepted(after, channel) > accepted(before, channel), channel


async def test_the_simulator_refuses_anything_but_loopback(hub_env: dict[str, str]) -> None:
    result = await hub_cli(
        hub_env, "simulate", "--url", "http://192.0.2.10:8000", "--duration", "1"
    )
    assert result.returncode == 2
    assert "not loopback" in result.stdout
