"""`hub run` with nothing configured: spawns a broker, uses SQLite, and serves the example."""

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.polling import wait_for_status
from tests.support.brokers import TEST_BROKER
from tests.support.hubproc import running_hub
from tests.support.partner import SignedClient
from tests.support.people import applicant

# Also run on the Tansu fallback broker (make pytest-tansu).
pytestmark = pytest.mark.tansu


def embedded_defaults(tmp_path: Path) -> dict[str, str]:
    """Nothing configured but this test's own SQLite file and broker data: never the
    var/kafka of a `make run` on this checkout."""
    return {
        "HUB_KAFKA_BOOTSTRAP_SERVERS": "",
        "HUB_EMBEDDED_BROKER": TEST_BROKER,
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        "HUB_EMBEDDED_BROKER_DIR": str(tmp_path / "kafka"),
    }


async def test_hub_run_on_embedded_defaults_records_a_registration(tmp_path: Path) -> None:
    async with running_hub(embedded_defaults(tmp_path), tmp_path / "hub.log") as url:
        client = SignedClient(url)
        person = applicant()
        assert (await client.post("/v1/registrations", person)).status_code == 202
        status, _ = await wait_for_status(
            client, f"/v1/registrations/{person['reference']}", "recorded", 2.0
        )
        assert len(status["kpj"]) == 11
        await client.aclose()
    log = (tmp_path / "hub.log").read_text()
    assert f"embedded {TEST_BROKER} broker on 127.0.0.1:" in log
    if TEST_BROKER == "kafka":
        assert (tmp_path / "kafka" / "node-1" / "server.properties").exists()


async def test_the_printed_example_command_records_a_member(tmp_path: Path) -> None:
    """The copy-paste command `hub run` prints works as printed (openssl + curl)."""
    env = embedded_defaults(tmp_path) | {"COLUMNS": "400"}
    async with running_hub(env, tmp_path / "hub.log"):
        # /healthz answers as soon as the server is up; the example is printed just after.
        lines = await _printed_example(tmp_path / "hub.out")
        start = next(i for i, line in enumerate(lines) if line.startswith("ref=DEMO"))
        end = next(i for i in range(start, len(lines)) if not lines[i].strip())
        script = "\n".join(lines[start:end])
        result = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "LC_ALL": "C"},
        )
    out = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stderr
    assert '"status":"accepted"' in out[0]
    assert '"status":"recorded"' in out[1], out
    assert '"kpj":"' in out[1]


async def _printed_example(log: Path, within_s: float = 10.0) -> list[str]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines()
        if any(line.startswith("Ctrl-C stops the hub") for line in lines):
            return lines
        await asyncio.sleep(0.05)
    raise AssertionError(f"no example printed within {within_s} s: {log.read_text()[-2000:]}")
