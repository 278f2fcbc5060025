"""What the benchmarks share: valid test people, throw-away databases, a running hub,
result tables."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson

from benchmarks._procs import VENV_BIN, Server, cpu_snapshot, descendants
from hub.broker import choose_engine, embedded_broker, free_port
from hub.membership.particulars import Particulars
from hub.settings import KAFKA_LIBS
from hub.simulator.people import hub_api_registration
from schemas.nik import nik_of

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")

PROVINCE = "51"  # Bali (WITA)
_FIRST_BIRTH_DATE = date(1960, 1, 1)
_BIRTH_DATE_SPAN_DAYS = 16_000  # 1960 .. 2003
_GIVEN = ("KETUT", "MADE", "WAYAN", "NYOMAN", "PUTU", "KADEK", "GEDE", "AYU", "DEWI", "AGUS")
_FAMILY = ("SUTRISNO", "LESTARI", "WIJAYA", "PRATAMA", "SARI", "SANTOSO", "HANDAYANI", "PUTRA")
_OCCUPATIONS = ("pedagang", "tukang jahit", "petani", "nelayan", "ojek online", "buruh harian")
MAX_PEOPLE = 99 * 99 * 9999


def person(i: int) -> Particulars:
    """The ``i``-th distinct valid person (0 <= i < MAX_PEOPLE): NIKs never repeat."""
    if not 0 <= i < MAX_PEOPLE:
        raise ValueError("person index out of range")
    regency = 1 + i % 99
    district = 1 + (i // 99) % 99
    serial = 1 + i // (99 * 99)
    birth = _FIRST_BIRTH_DATE + timedelta(days=(i * 7919) % _BIRTH_DATE_SPAN_DAYS)
    sex = "F" if i % 2 else "M"
    return Particulars(
        nik=nik_of(f"{PROVINCE}{regency:02d}{district:02d}", birth, sex, serial),
        full_name=f"{_GIVEN[i % len(_GIVEN)]} {_FAMILY[(i // 10) % len(_FAMILY)]}",
        birth_date=birth,
        sex=sex,
        phone=f"0812{i % 100_000_000:08d}",
        address=f"Jl. Gatot Subroto {1 + i % 400}, Denpasar",
        occupation=_OCCUPATIONS[i % len(_OCCUPATIONS)],
    )


def registration_body(reference: str, p: Particulars) -> bytes:
    """The JSON body of a POST /v1/registrations, compact as a partner's host sends it."""
    return orjson.dumps(hub_api_registration(p, reference))


def run_id() -> str:
    return secrets.token_hex(4)


def asyncpg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


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


@contextlib.asynccontextmanager
async def connected(database: str) -> AsyncIterator[Any]:
    """An asyncpg connection to ``database``, closed however the block ends."""
    conn = await asyncpg.connect(asyncpg_dsn(database))
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def temporary_database(prefix: str = "hub_bench") -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, dropped (connections and all) on the way out."""
    name = f"{prefix}_{run_id()}"
    async with connected("postgres") as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        async with connected("postgres") as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


INBOX_COLUMNS = (
    "partner_id",
    "kind",
    "reference",
    "request_hash",
    "event_id",
    "hub_reference",
    "member_key",
    "status",
    "event_json",
    "created_at",
    "updated_at",
)
"""The ``partner_requests`` columns of a request the hub accepted, for seeding with COPY."""


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
    api_port, metrics_port = free_port(), free_port()
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


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a result table: a figure, and optionally the target it is held to."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None


def print_table(title: str, rows: Sequence[Row]) -> None:
    print()
    print(title)
    for line in _table_lines(rows):
        print(line)


def _table_lines(rows: Sequence[Row]) -> Iterator[str]:
    header = ("figure", "value", "target", "")
    cells = [
        (r.name, r.value, r.target, "" if r.met is None else ("met" if r.met else "NOT MET"))
        for r in rows
    ]
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(4)]

    def fmt(c: tuple[str, str, str, str]) -> str:
        return f"  {c[0]:<{widths[0]}}  {c[1]:>{widths[1]}}  {c[2]:<{widths[2]}}  {c[3]}".rstrip()

    yield fmt(header)
    yield "  " + "-" * (sum(widths) + 6)
    for c in cells:
        yield fmt(c)


def fmt_rate(per_s: float) -> str:
    return f"{per_s:,.0f}/s"


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms"


def append_results(
    args: argparse.Namespace, benchmark: str, figures: dict[str, float | int | bool | None]
) -> None:
    """One benchmark's figures as a JSON line in ``--results``, if asked, for
    ``benchmarks.run``'s targets table: under ``benchmark`` for ``args.broker``, suffixed
    with the layout (``ingest_split``) unless it ran as ``hub run``."""
    if args.results is None:
        return
    layout = getattr(args, "layout", "run")
    name = benchmark if layout == "run" else f"{benchmark}_{layout}"
    with Path(args.results).open("a") as out:
        out.write(json.dumps({"benchmark": name, "broker": args.broker, "figures": figures}))
        out.write("\n")
