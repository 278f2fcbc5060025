"""The fault suite's stage: hub processes on a broker and a database, faults, and the count.

Each case runs ``hub api`` and ``hub consume`` as separate processes, as an operator
deploys them, drives them with the retrying partner, breaks something, and counts what
was acknowledged against what the store holds: lost is a 2xx never recorded, doubled a
payment applied twice.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from hub.broker import free_port
from tests.faults.partner_load import RetryingPartner, Tally
from tests.support.store import asyncpg_dsn

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "var" / "faults" / "results.md"
SCALE = float(os.environ.get("HUB_FAULTS_SCALE", "1"))
"""HUB_FAULTS_SCALE=10 sends ten times as many people through every case."""


def people(base: int) -> int:
    return max(10, int(base * SCALE))


class HubProcess:
    """``python -m hub api|consume`` with its own log; SIGKILL to crash it, SIGINT to stop it."""

    def __init__(self, role: str, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.role = role
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.port = free_port() if role == "api" else 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        args = ["-m", "hub", self.role]
        if self.role == "api":
            args += ["--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                cwd=REPO,
                env={**os.environ, "HUB_ENV": "test", **self.env},
                stdout=log,
                stderr=log,
            )
        if self.role == "api":
            await self._wait_ready()

    async def _wait_ready(self, within_s: float = 60.0) -> None:
        deadline = time.monotonic() + within_s
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"hub {self.role} exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"hub {self.role} not ready: {self.log.read_text()[-2000:]}")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


@dataclass
class Stage:
    """One case's hub: its env (broker, database, topics), processes and partner."""

    env: dict[str, str]
    database_url: str
    log_dir: Path
    processes: list[HubProcess] = field(default_factory=list)

    def hub(self, role: str) -> HubProcess:
        process = HubProcess(role, self.env, self.log_dir, f"{role}-{len(self.processes)}")
        self.processes.append(process)
        return process

    async def stop_all(self) -> None:
        for process in self.processes:
            await process.stop()


def stage_env(bootstrap: str, idempotence: bool, database_url: str, **extra: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "HUB_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "HUB_KAFKA_ENABLE_IDEMPOTENCE": "true" if idempotence else "false",
        "HUB_DATABASE_URL": database_url,
        "HUB_KAFKA_MEMBER_EVENTS_TOPIC": f"faults-{suffix}",
        "HUB_KAFKA_DEAD_LETTER_TOPIC": f"faults-dlq-{suffix}",
        "HUB_KAFKA_CONSUMER_GROUP": f"faults-core-{suffix}",
        "HUB_KAFKA_PARTITIONS": "6",
        "HUB_REDRIVE_AFTER_S": "10",
        "HUB_REDRIVE_POLL_S": "1",
        "HUB_LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class Count:
    """What the store holds of what the partner was told was accepted."""

    case: str
    tally: Tally
    recorded: int
    lost: list[str]
    doubled: int
    recovered_s: float | None

    def line(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.tally.codes.items())) or "none"
        recovered = "n/a" if self.recovered_s is None else f"{self.recovered_s:.1f} s"
        return (
            f"| {self.case} | {self.tally.sent} | {self.tally.ok} | {self.recorded} | "
            f"{len(self.lost)} | {self.doubled} | {codes} | {recovered} |"
        )


async def count(
    case: str, tally: Tally, database_url: str, since: float, within_s: float = 120.0
) -> Count:
    """Wait until every 2xx is recorded (or ``within_s``), then count lost and doubled."""
    registrations = [ref for ref, kind in tally.accepted.items() if kind == "registration"]
    niks = [tally.niks[ref] for ref in registrations]
    payments = [ref for ref, kind in tally.accepted.items() if kind == "payment"]
    deadline = time.monotonic() + within_s
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        while True:
            found_members = {
                r["nik"]
                for r in await conn.fetch("SELECT nik FROM members WHERE nik = ANY($1)", niks)
            }
            rows = await conn.fetch(
                "SELECT partner_ref, count(*) AS n FROM contributions "
                "WHERE partner_id = 'demo' AND partner_ref = ANY($1) AND status = 'applied' "
                "GROUP BY partner_ref",
                payments,
            )
            found_payments = {r["partner_ref"]: r["n"] for r in rows}
            lost = [
                ref
                for ref, nik in zip(registrations, niks, strict=True)
                if nik not in found_members
            ]
            lost += [ref for ref in payments if ref not in found_payments]
            if not lost or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        recovered = time.monotonic() - since if not lost else None
        # Applied twice: a second contribution row for one reference, or coverage moved
        # further than the one month each person paid for.
        doubled = sum(n - 1 for n in found_payments.values())
        doubled += await conn.fetchval(
            "SELECT count(*) FROM members m WHERE m.nik = ANY($1) AND m.paid_through IS NOT NULL "
            "AND (SELECT count(*) FROM contributions c WHERE c.member_id = m.id "
            "AND c.status = 'applied') = 1 AND m.paid_through <> (SELECT covers_through FROM "
            "contributions c WHERE c.member_id = m.id AND c.status = 'applied')",
            niks,
        )
    finally:
        await conn.close()
    result = Count(
        case, tally, len(registrations) + len(payments) - len(lost), lost, doubled, recovered
    )
    report(result)
    return result


def report(result: Count) -> None:
    print("\n" + result.line())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if not RESULTS.exists():
        RESULTS.write_text(
            "| case | sent | 2xx | recorded | lost | doubled | non-2xx by code | recovered in |\n"
            "|---|---|---|---|---|---|---|---|\n"
        )
    with RESULTS.open("a") as out:
        out.write(result.line() + "\n")


@contextlib.asynccontextmanager
async def partner(urls: list[str], budget_s: float = 120.0) -> AsyncIterator[RetryingPartner]:
    client = RetryingPartner(urls, budget_s=budget_s)
    try:
        yield client
    finally:
        await client.aclose()
