"""Memory: the core consumer's RSS while it records 1,000,000 events.

    python -m benchmarks.memory [--broker kafka|tansu] [--events 1000000] [--results FILE]

Issue 15 asks that memory stay flat and that the README state the RSS after a million
events. ``benchmarks.drain`` cannot tell: its consumer runs in the benchmark's own
process, which also holds every event it produced. Here the consumer is the real
``hub consume`` process, alone, and nothing else shares its address space:

1. A broker (``hub.broker``) and a fresh PostgreSQL database migrated to head.
2. ``--events`` registrations, built as intake builds them (``benchmarks.drain``), in
   chunks: each chunk's ``partner_requests`` rows are COPYed in, then its events are
   produced (acks=all). Nothing is kept once its chunk is sent.
3. ``hub consume`` starts on that database and broker; its ``VmRSS`` (from ``/proc``)
   and the count of ``processed_events`` are sampled every few seconds until every
   event is recorded.

Prints the RSS at each tenth of the events, the growth from the first tenth to the end
(what "flat" means here: the first tenth includes the warm-up of imports, pools and
caches), and the peak. ``--results`` appends the figures as one JSON line for
``benchmarks.run``. The consumer and broker are stopped and the database dropped
however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from benchmarks._database import asyncpg_dsn, sqlalchemy_url, temporary_database
from benchmarks._procs import run_benchmark
from benchmarks._report import Row, append_results, fmt_rate, print_table, run_id
from benchmarks.drain import (
    add_drain_options,
    build_events,
    copy_partner_requests,
    partner_request_rows,
    produce,
)
from hub.broker import Broker, embedded_broker
from hub.settings import KAFKA_LIBS, load_settings
from hub.store.migrations import upgrade_to_head_async

CHUNK = 50_000
SAMPLE_EVERY_S = 5.0
TARGET_GROWTH_MIB = 32.0
"""Growth allowed from the first tenth of the events to the last (batches, pools, caches)."""


def rss_of(pid: int) -> int:
    """A process's resident set size in bytes, from ``/proc`` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


async def recorded(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM processed_events"))


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_drain_options(parser, events=1_000_000, timeout_s=1800.0)
    args = parser.parse_args(argv)
    n: int = args.events
    rid = run_id()
    now = datetime.now(UTC)
    print(f"memory: {n:,} events through `hub consume` on {args.broker}", flush=True)

    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-memory-"))
    broker: Broker = embedded_broker(
        args.broker, data_dir, KAFKA_LIBS, log_file=data_dir / f"{args.broker}.log"
    )
    await broker.start()
    consumer: asyncio.subprocess.Process | None = None
    samples: list[tuple[float, int, int]] = []  # (seconds, recorded, RSS bytes)
    try:
        async with temporary_database("hub_bench_memory") as db:
            await upgrade_to_head_async(sqlalchemy_url(db))
            settings = load_settings(
                kafka_bootstrap_servers=broker.bootstrap_servers,
                kafka_enable_idempotence=broker.idempotence,
                database_url=sqlalchemy_url(db),
            )
            started = time.perf_counter()
            for first in range(0, n, CHUNK):
                events = build_events(min(CHUNK, n - first), rid, now, first=first)
                await copy_partner_requests(db, partner_request_rows(events, now))
                await produce(settings, broker.bootstrap_servers, events)
                del events
            produced_s = time.perf_counter() - started
            print(f"  produced {n:,} events in {produced_s:.0f} s", flush=True)

            env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
            env |= {
                "HUB_ENV": "dev",
                "HUB_LOG_FORMAT": "json",  # production's log lines
                "HUB_DATABASE_URL": sqlalchemy_url(db),
                "HUB_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "HUB_KAFKA_ENABLE_IDEMPOTENCE": str(broker.idempotence).lower(),
            }
            log = (data_dir / "consume.log").open("wb")
            consumer = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hub", "consume", env=env, stdout=log, stderr=log
            )
            conn = await asyncpg.connect(asyncpg_dsn(db))
            try:
                started = time.perf_counter()
                done = 0
                while done < n and time.perf_counter() - started < args.timeout:
                    await asyncio.sleep(SAMPLE_EVERY_S)
                    if consumer.returncode is not None:
                        raise RuntimeError(f"hub consume exited with {consumer.returncode}")
                    done = await recorded(conn)
                    samples.append((time.perf_counter() - started, done, rss_of(consumer.pid)))
                    print(
                        f"  {samples[-1][0]:6.0f} s  {done:>9,} recorded  "
                        f"RSS {samples[-1][2] / 2**20:,.0f} MiB",
                        flush=True,
                    )
            finally:
                await conn.close()
    finally:
        if consumer is not None and consumer.returncode is None:
            consumer.terminate()
            await consumer.wait()
        await broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    return report(args, n, samples)


def report(args: argparse.Namespace, n: int, samples: list[tuple[float, int, int]]) -> int:
    completed = bool(samples) and samples[-1][1] >= n
    tenth = next((s for s in samples if s[1] >= n // 10), samples[-1])
    end = samples[-1]
    peak = max(s[2] for s in samples)
    growth_mib = (end[2] - tenth[2]) / 2**20
    flat = completed and growth_mib <= TARGET_GROWTH_MIB
    rows = [Row("events recorded", f"{end[1]:,} of {n:,}", f"{n:,}", completed)]
    tenths = [next((s for s in samples if s[1] >= n * k // 10), None) for k in range(1, 11)]
    for at in dict.fromkeys(s for s in tenths if s is not None):
        rows.append(Row(f"RSS after {at[1]:,} events", f"{at[2] / 2**20:,.0f} MiB"))
    rows += [
        Row("peak RSS", f"{peak / 2**20:,.0f} MiB"),
        Row(
            "RSS growth, first tenth -> end",
            f"{growth_mib:+,.0f} MiB",
            f"flat (<= {TARGET_GROWTH_MIB:.0f} MiB)",
            flat,
        ),
        Row("drain rate (from the start of hub consume)", fmt_rate(end[1] / end[0])),
    ]
    print_table(f"memory ({args.broker}, `hub consume` alone)", rows)
    append_results(
        args,
        "memory",
        {
            "events": n,
            "completed": completed,
            "rss_after_mib": end[2] / 2**20,
            "rss_after_tenth_mib": tenth[2] / 2**20,
            "rss_peak_mib": peak / 2**20,
            "rss_growth_mib": growth_mib,
        },
    )
    return 0 if completed else 1


if __name__ == "__main__":
    sys.exit(run_benchmark(main))
