"""Ingest: signed registrations over HTTP against the running hub, next to a bare FastAPI app.

    python -m benchmarks.ingest [--duration 15] [--connections 32] [--profile DIR]
        [--layout run|split]

1. Build distinct valid registrations and sign them all (partner ``demo``) just
   before the runs; wrk (Debian package ``wrk``) cycles through them with
   ``registrations.lua``, so the load generator only writes prepared bytes.
2. Baseline: ``benchmarks.bare_app`` (uvicorn, same settings as the hub) that only
   validates the body with ``RegistrationRequest``; the same requests, the same
   wrk settings, a short warm-up, then the measured run. It runs again after the hub
   (step 4), and the hub is judged against the mean of the two.
3. The hub: ``hub run`` on a fresh PostgreSQL database (it spawns Tansu and
   migrates), or with ``--layout split`` production's layout (a broker, ``hub api``
   and ``hub consume``); warm-up and measured run with requests it has never seen,
   then wait until the consumer has recorded every accepted registration.
4. The baseline again, as in step 2.

Prints accepted (2xx) requests/s, p50 and p99 latency, the hub/bare ratio, and
the consumer's catch-up time. Every process it starts is ended, and the
database dropped, however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks._database import connected, temporary_database
from benchmarks._hub import RunningHub, add_hub_options, clean_work_dir, running_hub
from benchmarks._people import person, registration_body
from benchmarks._procs import (
    Profile,
    PySpy,
    Server,
    cpu_seconds,
    cpu_snapshot,
    cpu_usage,
    descendants,
    load_average,
    print_profile,
    run_benchmark,
)
from benchmarks._report import Row, append_results, fmt_ms, fmt_rate, print_table, run_id
from hub.broker import free_port
from hub.signing import sign

LUA_SCRIPT = Path(__file__).resolve().parent / "registrations.lua"
PARTNER_SECRET = "demo-secret"  # config/dev.toml, partner "demo"

TARGET_HUB_RPS = 2500.0
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.3
TARGET_STACK_CPU_MS = 0.6


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    statuses: dict[int, int]
    socket_errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    wraps: int

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    def status_text(self) -> str:
        return ", ".join(f"{s}: {n:,}" for s, n in sorted(self.statuses.items())) or "none"


def write_requests(path: Path, bodies: Sequence[bytes]) -> None:
    """One pre-signed request a line: X-Timestamp, X-Signature, raw body (tab-separated)."""
    timestamp = str(int(time.time()))
    with open(path, "wb") as out:
        for body in bodies:
            signature = sign(PARTNER_SECRET, timestamp, body)
            out.write(f"{timestamp}\t{signature}\t".encode() + body + b"\n")


async def run_wrk(
    url: str, requests_file: Path, *, threads: int, connections: int, duration_s: int
) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration_s}s",
        "--timeout=5s",
        f"--script={LUA_SCRIPT}",
        url,
        "--",
        str(requests_file),
        str(threads),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate()
    except BaseException:  # cancelled (Ctrl-C): wrk must not outlive the benchmark
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("WRK_RESULT "):
            data = json.loads(line.removeprefix("WRK_RESULT "))
            return WrkResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                statuses={int(k): v for k, v in data["statuses"].items()},
                socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"],
                timeouts=data["timeouts"],
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                wraps=data["wraps"],
            )
    raise RuntimeError(f"wrk gave no result (exit {process.returncode}): {err.decode()[-500:]}")


async def recorded_counts(database: str) -> tuple[int, int]:
    """(recorded, accepted or later) rows in the hub's inbox."""
    async with connected(database) as conn:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'recorded') AS recorded,"
            " count(*) FILTER (WHERE status <> 'pending') AS accepted FROM partner_requests"
        )
    assert row is not None
    return int(row["recorded"]), int(row["accepted"])


async def wait_recorded(database: str, accepted: int, within_s: float) -> tuple[float | None, int]:
    """Seconds until ``accepted`` registrations are recorded (None: not within the bound)."""
    started = time.perf_counter()
    async with connected(database) as conn:
        while True:
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE status = 'recorded') AS recorded,"
                " count(*) FILTER (WHERE status = 'accepted') AS waiting FROM partner_requests"
            )
            assert row is not None
            recorded = int(row["recorded"])
            elapsed = time.perf_counter() - started
            if recorded >= accepted and row["waiting"] == 0:
                return elapsed, recorded
            if elapsed > within_s:
                return None, recorded
            await asyncio.sleep(0.1)


@dataclass(frozen=True, slots=True)
class StackCpu:
    """CPU seconds of the whole stack over a measured run, from ``/proc``."""

    hub_s: float
    broker_s: float
    """The broker ``hub run`` spawned (its child processes)."""
    postgres_s: float
    """The PostgreSQL backends connected to the run's database (not the server's shared
    background writers, which other users of this machine's server also keep busy)."""

    @property
    def total_s(self) -> float:
        return self.hub_s + self.broker_s + self.postgres_s

    def per_request_ms(self, requests: int) -> dict[str, float]:
        n = max(requests, 1)
        return {
            "hub": 1000 * self.hub_s / n,
            "postgres": 1000 * self.postgres_s / n,
            "broker": 1000 * self.broker_s / n,
            "stack": 1000 * self.total_s / n,
        }


def cpu_rows(cpu_ms: dict[str, float], stack_target_ms: float | None = None) -> list[Row]:
    """CPU per accepted request (``StackCpu.per_request_ms``) as result rows, by part;
    the whole stack's held to ``stack_target_ms`` if one is given."""
    rows = [
        Row(f"CPU per accepted request: {label}", f"{cpu_ms[part]:.3f} ms")
        for label, part in (("hub", "hub"), ("PostgreSQL", "postgres"), ("broker", "broker"))
    ]
    stack = Row("CPU per accepted request: whole stack", f"{cpu_ms['stack']:.3f} ms")
    if stack_target_ms is not None:
        stack = replace(
            stack, target=f"<= {stack_target_ms} ms", met=cpu_ms["stack"] <= stack_target_ms
        )
    return [*rows, stack]


async def backend_pids(database: str) -> set[int]:
    """The PostgreSQL backends serving ``database`` now."""
    async with connected(database) as conn:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    return {int(r["pid"]) for r in rows}


class StackMeter:
    """Measures a running hub (its Python processes and its broker) plus its database's
    backends between ``start`` and ``stop``."""

    def __init__(self, hub: RunningHub, database: str) -> None:
        self._hub = hub
        self._database = database

    async def start(self) -> None:
        self._backends = await backend_pids(self._database)
        self._before = cpu_snapshot()

    async def stop(self) -> StackCpu:
        after = cpu_snapshot()
        backends = self._backends | await backend_pids(self._database)
        python = set(self._hub.python_pids)
        broker = set(self._hub.broker_pids)
        if not broker:  # `hub run`: the broker it spawned is below it
            tree = descendants(self._before, self._hub.pid) | descendants(after, self._hub.pid)
            broker = tree - python
        return StackCpu(
            hub_s=cpu_seconds(self._before, after, python),
            broker_s=cpu_seconds(self._before, after, broker),
            postgres_s=cpu_seconds(self._before, after, backends),
        )


@dataclass(frozen=True, slots=True)
class Phase:
    """One server's warm-up and measured run, with where the CPU went during the latter."""

    warm: WrkResult
    result: WrkResult
    cpu: list[tuple[str, float]]
    profile: Profile | None
    stack: StackCpu | None = None


_DB_COUNTERS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_returned")


async def db_activity(database: str) -> dict[str, int]:
    """PostgreSQL's cumulative counters for ``database`` (read after the hub's backends exited)."""
    async with connected(database) as conn:
        row = await conn.fetchrow(
            f"SELECT {', '.join(_DB_COUNTERS)} FROM pg_stat_database WHERE datname = $1",
            database,
        )
    return {k: int(row[k]) for k in _DB_COUNTERS} if row is not None else {}


def bracketed_rate(before_per_s: float, after_per_s: float) -> float:
    """The bare endpoint's rate for the hub's run between its two runs: their mean. A
    machine that sped up or slowed down while the hub ran moves both halves of the
    bracket, and the hub is judged against the middle rather than against either end."""
    return (before_per_s + after_per_s) / 2


async def measure(
    label: str,
    processes: dict[int, str],
    url: str,
    files: tuple[Path, Path],
    args: argparse.Namespace,
    profile_to: Path | None = None,
    meter: StackMeter | None = None,
) -> Phase:
    """Warm-up run, then the measured run (py-spy on the first of ``processes``, the one
    that serves ``url``, during it if asked); ``processes`` name the server's Python
    processes for the CPU table."""
    common = {"threads": args.threads, "connections": args.connections}
    warm = await run_wrk(url, files[0], duration_s=args.warmup, **common)
    print(
        f"  {label} warm-up: {warm.ok:,} 2xx, {warm.non_2xx:,} other ({warm.status_text()})",
        flush=True,
    )
    spy = PySpy(next(iter(processes)), profile_to) if profile_to is not None else None
    profile = None
    stack = None
    try:
        if spy is not None:
            await spy.start()
        if meter is not None:
            await meter.start()
        before = cpu_snapshot()
        result = await run_wrk(url, files[1], duration_s=args.duration, **common)
        cpu = cpu_usage(before, cpu_snapshot(), processes)
        if meter is not None:
            stack = await meter.stop()
    finally:
        if spy is not None:
            profile = await spy.stop()
    print(
        f"  {label} measured: {result.ok:,} 2xx in {result.duration_s:.1f} s"
        f" ({result.status_text()}; socket errors {result.socket_errors}, "
        f"timeouts {result.timeouts}, wraps {result.wraps})",
        flush=True,
    )
    print(f"  {label} CPU (cores): " + ", ".join(f"{n} {c:.2f}" for n, c in cpu), flush=True)
    return Phase(warm, result, cpu, profile, stack)


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--requests",
        type=int,
        default=150_000,
        help="distinct registrations for the measured run (the hub must never run out)",
    )
    parser.add_argument("--warmup-requests", type=int, default=30_000)
    parser.add_argument(
        "--strict", action="store_true", help="exit with 3 when a target is not met"
    )
    add_hub_options(parser, "the hub during its measured run")
    parser.add_argument(
        "--bare-loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="the baseline's event loop (auto: uvicorn's default, uvloop when installed)",
    )
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2

    rid = run_id()
    print(f"machine load average (1/5/15 min) at the start: {load_average()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="hub-bench-ingest-"))
    failed = True
    try:
        started = time.perf_counter()
        n_warm, n_measure = args.warmup_requests, args.requests
        bodies = [
            registration_body(f"BENCH-{rid}-{i}", person(i)) for i in range(n_warm + n_measure)
        ]
        warm_file, measure_file = work / "warmup.tsv", work / "measure.tsv"

        def sign_all() -> float:
            write_requests(warm_file, bodies[:n_warm])
            write_requests(measure_file, bodies[n_warm:])
            return time.time()

        signed_at = sign_all()
        print(
            f"ingest: {n_warm:,} + {n_measure:,} signed registrations in "
            f"{time.perf_counter() - started:.1f} s; {args.connections} connections, "
            f"{args.threads} wrk threads, {args.warmup} s warm-up + {args.duration} s measured",
            flush=True,
        )

        # --- baseline: bare FastAPI, same uvicorn settings ---------------------------------
        async def bare_phase(label: str) -> Phase:
            port = free_port()
            bare = Server(
                "bare app",
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bare_app",
                    f"--port={port}",
                    f"--loop={args.bare_loop}",
                ],
                os.environ,
                work / "bare.log",
            )
            try:
                await bare.start(f"http://127.0.0.1:{port}/healthz", within_s=30)
                return await measure(
                    label,
                    {bare.pid: "bare (python)"},
                    f"http://127.0.0.1:{port}",
                    (warm_file, measure_file),
                    args,
                )
            finally:
                await bare.stop()

        base_phase = await bare_phase("bare")

        # --- the hub: API + consumer + Tansu + PostgreSQL ----------------------------------
        async with temporary_database() as database:
            async with running_hub(
                database, work, args.broker, args.hub_setting, args.layout
            ) as hub:
                print(f"  hub healthy after {hub.startup_s:.1f} s (db {database})", flush=True)
                if time.time() - signed_at > 200:  # the hub allows 300 s of clock skew
                    signed_at = sign_all()
                phase = await measure(
                    "hub",
                    hub.python_pids,
                    hub.url,
                    (warm_file, measure_file),
                    args,
                    profile_to=None if args.profile is None else args.profile / "hub-ingest.txt",
                    meter=StackMeter(hub, database),
                )
                warm, result, profile = phase.warm, phase.result, phase.profile
                load_ended = time.perf_counter()
                recorded_at_end, accepted_in_db = await recorded_counts(database)
                # wrk's 2xx count, or more if the hub accepted requests wrk gave up on.
                expected = max(warm.ok + result.ok, accepted_in_db)
                caught_up_s, recorded = await wait_recorded(database, expected, within_s=90)
                catch_up_total = time.perf_counter() - load_ended
                recorded, accepted_in_db = await recorded_counts(database)
            await asyncio.sleep(0.5)  # exiting backends flush their statistics
            activity = await db_activity(database)
        # The bare endpoint again, after the hub: the machine's speed moves within minutes,
        # so the hub is judged against the mean of the endpoint before and after it.
        after_phase = await bare_phase("bare, after the hub")
        base, base_after = base_phase.result, after_phase.result
        bare_per_s = bracketed_rate(base.ok_per_s, base_after.ok_per_s)

        ratio = result.ok_per_s / bare_per_s if bare_per_s else 0.0
        per_request = max(accepted_in_db, 1)
        rows = [
            Row("bare: uvicorn loop", args.bare_loop),
            Row("bare: 2xx req/s (mean of before and after the hub)", fmt_rate(bare_per_s)),
            Row(
                "bare: 2xx req/s before / after the hub",
                f"{fmt_rate(base.ok_per_s)} / {fmt_rate(base_after.ok_per_s)}",
            ),
            Row(
                "bare: non-2xx / socket errors",
                f"{base.non_2xx + base_after.non_2xx:,}"
                f" / {base.socket_errors + base_after.socket_errors:,}",
            ),
            Row(
                "bare: p50 / p99 latency, before the hub",
                f"{fmt_ms(base.p50_ms)} / {fmt_ms(base.p99_ms)}",
            ),
            Row(
                "hub: accepted (2xx) req/s",
                fmt_rate(result.ok_per_s),
                f">= {TARGET_HUB_RPS:,.0f}/s",
                result.ok_per_s >= TARGET_HUB_RPS,
            ),
            Row("hub: accepted requests", f"{result.ok:,}"),
            Row("hub: non-2xx responses", f"{result.non_2xx:,}"),
            Row("hub: socket errors / timeouts", f"{result.socket_errors:,} / {result.timeouts:,}"),
            Row("hub: p50 latency", fmt_ms(result.p50_ms)),
            Row("hub: p90 latency", fmt_ms(result.p90_ms)),
            Row(
                "hub: p99 latency",
                fmt_ms(result.p99_ms),
                f"<= {TARGET_P99_MS:.0f} ms",
                result.p99_ms <= TARGET_P99_MS,
            ),
            Row("hub: max latency", fmt_ms(result.max_ms)),
            Row(
                "ratio hub/bare (2xx req/s)",
                f"{ratio:.3f}",
                f">= {TARGET_RATIO}",
                ratio >= TARGET_RATIO,
            ),
            Row(
                "PG transactions per accepted request",
                f"{(activity['xact_commit'] + activity['xact_rollback']) / per_request:.1f}"
                f" ({activity['xact_rollback'] / per_request:.1f} rolled back)",
            ),
            Row(
                "PG rows inserted / updated per request",
                f"{activity['tup_inserted'] / per_request:.1f}"
                f" / {activity['tup_updated'] / per_request:.1f}",
            ),
            Row("consumer backlog when load ended", f"{expected - recorded_at_end:,}"),
            Row(
                "consumer caught up after load",
                "not within 90 s" if caught_up_s is None else f"{catch_up_total:.1f} s",
            ),
            Row("recorded / accepted (incl. warm-up)", f"{recorded:,} / {accepted_in_db:,}"),
        ]
        cpu_ms = phase.stack.per_request_ms(result.ok) if phase.stack else {}
        if cpu_ms:
            rows += cpu_rows(cpu_ms, TARGET_STACK_CPU_MS)
        rows.append(Row("machine load average (1/5/15 min) at the end", load_average()))
        append_results(
            args,
            "ingest",
            {
                "accepted_per_s": round(result.ok_per_s, 1),
                "p50_ms": result.p50_ms,
                "p99_ms": result.p99_ms,
                "bare_per_s": round(bare_per_s, 1),
                "bare_before_per_s": round(base.ok_per_s, 1),
                "bare_after_per_s": round(base_after.ok_per_s, 1),
                "ratio": round(ratio, 3),
                "hub_cpu_ms": cpu_ms.get("hub"),
                "postgres_cpu_ms": cpu_ms.get("postgres"),
                "broker_cpu_ms": cpu_ms.get("broker"),
                "stack_cpu_ms": cpu_ms.get("stack"),
                # The hub's process tree and its database's backends, from /proc.
                "cpu_ms_per_request": cpu_ms.get("stack"),
                "connections": args.connections,
                "load_average_1m": float(load_average().split()[0]),
            },
        )
        print_table(
            f"ingest ({args.connections} connections, {args.threads} wrk threads, "
            f"{args.duration} s after {args.warmup} s warm-up, {args.layout} layout; run {rid})",
            rows,
        )
        print("\nCPU during the measured runs (cores; the machine is shared)")
        for label, phase_cpu in (
            ("bare", base_phase.cpu),
            ("hub", phase.cpu),
            ("bare, after", after_phase.cpu),
        ):
            print(f"  {label:<11} " + ", ".join(f"{n} {c:.2f}" for n, c in phase_cpu))
        if result.wraps:
            print(
                f"WARNING: wrk ran out of fresh registrations {result.wraps} time(s): the hub saw "
                "repeats (idempotent retries); raise --requests",
                file=sys.stderr,
            )
        if result.non_2xx:
            print(f"hub statuses: {result.status_text()}")
        if profile is not None:
            print_profile("hub process during the measured run (py-spy)", profile)
        failed = caught_up_s is None or result.wraps > 0
        if failed:
            return 1
        missed = any(row.met is False for row in rows)
        return 3 if args.strict and missed else 0
    finally:
        clean_work_dir(work, keep_logs=failed, generated="*.tsv")


if __name__ == "__main__":
    sys.exit(run_benchmark(main))
