"""Runs the real hub (``python -m hub run``) as a subprocess, as an operator would."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from hub.broker import free_port
from hub.settings import load_settings

REPO = Path(__file__).resolve().parents[2]

HUB_LOGS: list[Path] = []
"""Every log file a hub process of this test session wrote (the redaction test reads them)."""


def configured_env(bni46: dict[str, Any], partners: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The test configuration's channels and partners (secrets in clear) as ``HUB_CHANNELS``
    and ``HUB_PARTNERS``, with BNI 46's settings updated by ``bni46`` and ``partners`` added."""
    configured = load_settings()
    channels = configured.channels
    channels["bni46"] = {**channels["bni46"], **bni46}
    every_partner: dict[str, Any] = {
        pid: {
            **p.model_dump(mode="json", exclude={"secret", "previous_secret"}, exclude_none=True),
            "secret": p.secret.get_secret_value(),
        }
        for pid, p in configured.partners.items()
    }
    return {
        "HUB_CHANNELS": json.dumps(channels),
        "HUB_PARTNERS": json.dumps(every_partner | partners),
    }


@asynccontextmanager
async def running_hub(
    env: dict[str, str],
    log_path: Path,
    command: str = "run",
    health: str = "/livez",
    pids: list[int] | None = None,
    avoid: Collection[int] = (),
) -> AsyncIterator[str]:
    """Start ``hub run`` (or ``api``, or ``consume`` with a metrics port) with extra ``env``;
    yield its base URL; stop it with SIGINT. ``pids``, when given, receives its process id.
    ``avoid``: ports ``env`` gives the hub's other listeners (a BNI 46 port), not bound yet,
    which the OS may hand out again for the HTTP port.

    Its log (stderr, JSON lines as in production) goes to ``log_path``; what it prints for
    a person at a terminal (stdout: the example command) to ``log_path`` with ``.out``.
    """
    port = free_port(avoid=avoid)
    process = await started_hub(env, log_path, command, port)
    url = f"http://127.0.0.1:{port}"
    if pids is not None:
        pids.append(process.pid)
    try:
        await wait_healthy(url, process, log_path, health)
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise AssertionError("hub did not stop on SIGINT within 20 s") from None
    assert process.returncode == 0, (
        f"hub exited {process.returncode}: {log_path.read_text()[-3000:]}"
    )


async def started_hub(
    env: dict[str, str], log_path: Path, command: str, port: int
) -> asyncio.subprocess.Process:
    """``python -m hub COMMAND`` with extra ``env`` on ``port`` (``--metrics-port`` for
    ``consume``), started and not waited for. Its log (stderr, JSON lines as in
    production) goes to ``log_path``; what it prints for a person at a terminal (stdout:
    the example command) to ``log_path`` with ``.out``."""
    full_env = {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_LOG_LEVEL": "INFO",
        "HUB_LOG_FORMAT": "json",
        **env,
    }
    args = ["--metrics-port", str(port)] if command == "consume" else ["--port", str(port)]
    HUB_LOGS.append(log_path)
    with log_path.open("wb") as log, log_path.with_suffix(".out").open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub",
            command,
            *args,
            cwd=REPO,
            env=full_env,
            stdout=out,
            stderr=log,
        )


async def wait_healthy(
    url: str, process: asyncio.subprocess.Process, log_path: Path, health: str
) -> None:
    """Until ``url`` + ``health`` answers 200 (60 s at most); the log's tail if the hub exits."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError(f"hub exited early: {log_path.read_text()[-3000:]}")
            try:
                if (await client.get(f"{url}{health}")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"hub not healthy in 60 s: {log_path.read_text()[-3000:]}")


async def hub_cli(hub_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hub ARGS`` as an operator would, against the hub of ``hub_env``."""
    env = {**os.environ, "HUB_ENV": "test", "COLUMNS": "250", **hub_env}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def hub_command(hub_env: dict[str, str], *args: str) -> tuple[int, str]:
    """``python -m hub ARGS`` against the hub of ``hub_env``: its exit code and what it
    printed (stdout and stderr together, as an operator's terminal shows them)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *args,
        cwd=REPO,
        env={**os.environ, "HUB_ENV": "test", "COLUMNS": "200", **hub_env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()
