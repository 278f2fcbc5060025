"""The hub as a benchmark runs it: its options, its processes in either layout, its logs."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._database import sqlalchemy_url
from benchmarks._procs import VENV_BIN, Server, cpu_snapshot, descendants
from hub.broker import choose_engine, embedded_broker, free_port
from hub.settings import KAFKA_LIBS


def hub_env(database: str, broker: str = "auto") -> dict[str, str]:
    """``hub run``'s environment: dev settings, this database, the embedded broker asked for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_ENV"] = "dev"
    env["HUB_DATABASE_URL"] = sqlalchemy_url(database)
    env["HUB_EMBEDDED_BROKER"] = broker
    # Production's log lines (JSON), not development's readable ones.
    env["HUB_LOG_FORMAT"] = "json"
    # Rate limits still taken (and measured), never refusing a benchmark's load.
    env["HUB_RATE_LIMITS"] = '{"default": {"per_s": 1000000, "burst": 1000000}}'
    return env


def hub_settings(pairs: Sequence[str]) -> dict[str, str]:
    """``name=value`` pairs as the hub's environment variables (HUB_NAME=value)."""
    return {f"HUB_{name.upper()}": value for name, value in (p.split("=", 1) for p in pairs)}


LAYOUTS = ("run", "split")
"""How a benchmark runs the hub: ``run`` is ``hub run`` (API, consumer and its own
broker in one process, as ``make run`` does); ``split`` is the production layout, a
broker, ``hub api`` and ``hub consume`` as separate processes."""


def add_hub_options(parser: argparse.ArgumentParser, profiled: str | None = None) -> None:
    """The options of a benchmark that runs the hub: its broker, layout, settings and
    results, and ``--profile`` when the benchmark can py-spy ``profiled``."""
    parser.add_argument(
        "--broker", choices=["auto", "kafka", "tansu"], default="auto", help="hub run's broker"
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="run",
        help="run: `hub run`, one process; split: a broker, `hub api` and `hub consume`",
    )
    parser.add_argument("--results", type=Path, help="append the figures as a JSON line here")
    parser.add_argument(
        "--hub-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the hub (HUB_NAME=VALUE), e.g. kafka_linger_ms=5; repeatable",
    )
    if profiled is not None:
        parser.add_argument("--profile", type=Path, help=f"py-spy {profiled}")


@dataclass(frozen=True, slots=True)
class RunningHub:
    """The hub serving on loopback, healthy: ``hub run``, or ``hub api`` + ``hub consume``."""

    server: Server
    port: int
    startup_s: float
    """From start until /healthz answered."""
    consumer: Server | None = None
    """``hub consume``, in the split layout."""
    broker_pids: frozenset[int] = field(default_factory=frozenset)
    """The broker's processes, in the split layout (in ``hub run`` they are its children)."""

    @property
    def pid(self) -> int:
        """The process that serves the partner API."""
        return self.server.pid

    @property
    def python_pids(self) -> dict[int, str]:
        """The hub's Python processes, named for a CPU table."""
        if self.consumer is None:
            return {self.pid: "hub (python)"}
        return {self.pid: "hub api (python)", self.consumer.pid: "hub consume (python)"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def running_hub(
    database: str,
    work: Path,
    broker: str = "auto",
    settings: Sequence[str] = (),
    layout: str = "run",
) -> AsyncIterator[RunningHub]:
    """The hub on ``database`` in the given layout (``LAYOUTS``), logging to ``work``;
    the logs' tails go to stderr if the block fails, and everything is stopped however
    it ends."""
    if layout == "split":
        async with _split_hub(database, work, broker, settings) as hub:
            yield hub
        return
    port = free_port()
    server = Server(
        "hub",
        [str(VENV_BIN / "hub"), "run", "--port", str(port)],
        hub_env(database, broker) | hub_settings(settings),
        work / "hub.log",
    )
    try:
        startup_s = await server.start(f"http://127.0.0.1:{port}/healthz", within_s=90)
        yield RunningHub(server, port, startup_s)
    except Exception:
        print(f"--- hub log ({server.log_path}) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def _split_hub(
    database: str, work: Path, wanted: str, settings: Sequence[str]
) -> AsyncIterator[RunningHub]:
    """A broker (spawned from here, as ``hub run`` would), then ``hub consume`` and
    ``hub api`` against it, each its own process."""
    engine, _ = choose_engine(wanted, KAFKA_LIBS)  # type: ignore[arg-type]
    data = work / "broker"
    data.mkdir(parents=True, exist_ok=True)
    broker = embedded_broker(engine, data, KAFKA_LIBS, log_file=work / f"{engine}.log")
    await broker.start()
    env = hub_env(database, wanted) | hub_settings(settings)
    env["HUB_KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    env["HUB_KAFKA_ENABLE_IDEMPOTENCE"] = str(broker.idempotence).lower()
    # Not one port twice: the OS may hand a port just released out again, and `hub
    # consume` then held the API's port and answered the API's health check itself.
    api_port = free_port()
    metrics_port = free_port(avoid={api_port})
    consumer = Server(
        "hub consume",
        [str(VENV_BIN / "hub"), "consume", "--metrics-port", str(metrics_port)],
        env,
        work / "consume.log",
    )
    api = Server(
        "hub api", [str(VENV_BIN / "hub"), "api", "--port", str(api_port)], env, work / "hub.log"
    )
    started = time.perf_counter()
    try:
        await consumer.start(f"http://127.0.0.1:{metrics_port}/readyz", within_s=90)
        await api.start(f"http://127.0.0.1:{api_port}/healthz", within_s=90)
        ready_s = time.perf_counter() - started
        # Everything this process has spawned so far, but for the two hub processes
        # (and anything below them), is the broker.
        tree = cpu_snapshot()
        hubs = descendants(tree, api.pid) | descendants(tree, consumer.pid)
        broker_pids = frozenset(descendants(tree, os.getpid()) - hubs - {os.getpid()})
        yield RunningHub(api, api_port, ready_s, consumer, broker_pids)
    except Exception:
        for server in (api, consumer):
            print(f"--- {server.name} log ({server.log_path}) ---", file=sys.stderr)
            print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        await api.stop()
        await consumer.stop()
        await broker.stop()


def clean_work_dir(work: Path, *, keep_logs: bool, generated: str | None = None) -> None:
    """Remove the work directory; if the run failed, keep the servers' logs in it and
    remove only the ``generated`` input files (a glob), if the benchmark made any."""
    if not keep_logs:
        shutil.rmtree(work, ignore_errors=True)
        return
    for path in work.glob(generated) if generated is not None else ():
        path.unlink()
    print(f"(server logs kept in {work})", file=sys.stderr)
