"""Drain: the core consumer's rate from Kafka into PostgreSQL, next to a raw asyncpg COPY.

    python -m benchmarks.drain [--broker kafka|tansu] [--events 100000] [--profile DIR]
        [--results FILE]

1. The broker (Apache Kafka from the Maven jars, or Tansu; ``hub.broker``) and two
   fresh PostgreSQL databases, migrated to head.
2. ``--events`` RegistrationSubmitted envelopes, built as intake builds them;
   their ``partner_requests`` rows (status ``accepted``) are COPYed in first, so
   the consumer's status updates hit real rows as in production; then the events
   are produced to the member-events topic (acks=all).
3. The consumer, built exactly as the hub builds it (``hub.bootstrap.build(...)
   .consumer()``), is timed from ``start()`` until it has recorded every event.
4. Baseline: asyncpg ``copy_records_to_table`` of the same ``members`` and
   ``processed_events`` rows into the second database's empty tables, in one
   transaction: twice before the drain and twice after it, the median kept.

Prints events/s, the COPY's rows/s and the ratio drain/COPY (events per second
against the COPY's events-equivalent per second), the consumer's RSS, and checks the
members count; ``--results`` appends the figures as one JSON line for
``benchmarks.run``. The broker is stopped and both databases dropped however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from benchmarks._database import INBOX_COLUMNS, connected, sqlalchemy_url, temporary_database
from benchmarks._people import person
from benchmarks._procs import (
    Profile,
    PySpy,
    cpu_snapshot,
    cpu_usage,
    print_profile,
    run_benchmark,
)
from benchmarks._report import Row, append_results, fmt_rate, print_table, run_id
from hub.bootstrap import build, coverage_rules, schedule_from
from hub.broker import Broker, embedded_broker
from hub.intake.model import event_id_for, hub_reference_for
from hub.kafka.consumer import ConsumerStats
from hub.kafka.topics import ensure_topics
from hub.membership.apply import Batch, apply_event
from hub.membership.kpj import kpj_for
from hub.observability.heap import settle_heap
from hub.settings import KAFKA_LIBS, Settings, load_settings
from hub.store.members import member_row
from hub.store.migrations import upgrade_to_head_async
from schemas.events import EventEnvelope, RegistrationSubmitted

TARGET_EVENTS_PER_S = 25_000.0
TARGET_RATIO = 0.25
PROGRESS_EVERY_S = 10.0
PARTNER_ID = "demo"
CHANNEL = "hub-api"

PROCESSED_EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "outcome",
    "kafka_partition",
    "kafka_offset",
    "processed_at",
)


@dataclass(frozen=True, slots=True)
class Event:
    envelope: EventEnvelope
    value: bytes


def build_events(count: int, rid: str, now: datetime, first: int = 0) -> list[Event]:
    """``count`` registrations as intake would publish them (one distinct person each),
    of people ``first`` onwards (``benchmarks.memory`` builds them a chunk at a time)."""
    events = []
    for i in range(first, first + count):
        p = person(i)
        reference = f"DRAIN-{rid}-{i}"
        envelope = EventEnvelope(
            event_id=event_id_for(PARTNER_ID, "registration", reference),
            event_type="RegistrationSubmitted",
            channel=CHANNEL,
            partner_id=PARTNER_ID,
            partner_ref=reference,
            occurred_at=now,
            received_at=now,
            member_key=p.nik,
            payload=RegistrationSubmitted(
                **asdict(p), declared_income=1_000_000, programmes=("JKK", "JKM")
            ),
        )
        events.append(Event(envelope, envelope.model_dump_json().encode()))
    return events


def partner_request_rows(events: Sequence[Event], now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for e in events:
        env = e.envelope
        rows.append(
            (
                PARTNER_ID,
                "registration",
                env.partner_ref,
                hashlib.sha256(env.partner_ref.encode()).hexdigest(),
                env.event_id,
                hub_reference_for("registration", env.event_id),
                env.member_key,
                "accepted",
                e.value.decode(),
                now,
                now,
            )
        )
    return rows


def store_rows(
    events: Sequence[Event], now: datetime, settings: Settings
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """The ``members`` and ``processed_events`` rows the consumer writes for these events.

    The members are decided by the hub's own rules (``apply_event``) and written as its
    store writes them (``member_row``), numbered as a fresh store numbers them.
    """
    batch = Batch(members={}, contributions={})
    schedule, rules = schedule_from(settings), coverage_rules(settings)
    for e in events:
        apply_event(batch, e.envelope, schedule, rules)
    members = []
    for member_id, member in enumerate(batch.new_members, start=1):
        member.member_id, member.kpj = member_id, kpj_for(member_id)
        members.append(member_row(member, now))
    partitions = settings.kafka_partitions
    processed = [
        (
            e.envelope.event_id,
            e.envelope.event_type,
            "recorded",
            i % partitions,
            i // partitions,
            now,
        )
        for i, e in enumerate(events)
    ]
    return members, processed


async def copy_partner_requests(database: str, rows: list[tuple[Any, ...]]) -> float:
    async with connected(database) as conn:
        started = time.perf_counter()
        await conn.copy_records_to_table("partner_requests", records=rows, columns=INBOX_COLUMNS)
        await conn.execute("ANALYZE partner_requests")
        return time.perf_counter() - started


async def produce(settings: Settings, servers: str, events: Sequence[Event]) -> float:
    await ensure_topics(settings, servers)
    producer = AIOKafkaProducer(
        bootstrap_servers=servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        topic = settings.kafka_member_events_topic
        pending = []
        for e in events:
            pending.append(await producer.send(topic, e.value, key=e.envelope.member_key.encode()))
            if len(pending) >= 5_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def rss_bytes() -> int:
    """This process's resident set size (the consumer runs here), from ``/proc``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass(frozen=True, slots=True)
class Drain:
    seconds: float  # until every event was recorded, or until the timeout
    completed: bool
    first_record_s: float | None
    first_recorded: int
    stats: ConsumerStats
    """The consumer's totals when it stopped."""
    progress: list[tuple[float, int, int]]  # (seconds since start, recorded, RSS bytes)
    rss_before: int
    cpu: list[tuple[str, float]]
    profile: Profile | None


async def drain(
    settings: Settings, servers: str, expected: int, within_s: float, profile_dir: Path | None
) -> Drain:
    """Run the hub's consumer until it recorded ``expected`` events (or ``within_s`` passed)."""
    hub = build(settings, servers)
    consumer = hub.consumer()
    # As ``serve()`` does once a consumer-only process is ready: start-up frozen, the
    # collector tuned.
    settle_heap(settings.collector_thresholds(serves_api=False))
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    # The consumer runs in this very process: py-spy samples it here, for the whole drain.
    spy = PySpy(os.getpid(), profile_dir / "consumer-drain.txt") if profile_dir else None
    first: float | None = None
    first_recorded = 0
    progress: list[tuple[float, int, int]] = []
    rss_before = rss_bytes()
    try:
        if spy is not None:
            await spy.start()
        before = cpu_snapshot()
        started = time.perf_counter()
        await consumer.start()
        task = asyncio.create_task(consumer.run(stop), name="core-consumer")
        completed = False
        next_report = started + PROGRESS_EVERY_S
        while True:
            now = time.perf_counter()
            recorded = consumer.stats.recorded
            if first is None and recorded > 0:
                first, first_recorded = now - started, recorded
            if recorded >= expected:
                completed = True
                break
            if now >= next_report:
                progress.append((now - started, recorded, rss_bytes()))
                print(f"    {now - started:5.1f} s: {recorded:,} recorded", flush=True)
                next_report += PROGRESS_EVERY_S
            if now - started > within_s or task.done():
                break
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        progress.append((seconds, consumer.stats.recorded, rss_bytes()))
        cpu = cpu_usage(before, cpu_snapshot(), {os.getpid(): "consumer (python)"})
        if task.done() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    finally:
        profile = await spy.stop() if spy is not None else None
        stop.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await hub.publisher.stop()
        await hub.engine.dispose()
    return Drain(
        seconds,
        completed,
        first,
        first_recorded,
        consumer.stats,
        progress,
        rss_before,
        cpu,
        profile,
    )


async def copy_baseline(
    database: str, members: list[dict[str, Any]], processed: list[tuple[Any, ...]]
) -> float:
    """Seconds to COPY the rows into the empty ``members`` and ``processed_events`` of
    ``database``, in one transaction; the tables are emptied first, so each run of it
    writes into empty tables, as the first did."""
    columns = list(members[0])
    records = [tuple(m[c] for c in columns) for m in members]
    async with connected(database) as conn:
        await conn.execute("TRUNCATE members, processed_events CASCADE")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("members", records=records, columns=columns)
            await conn.copy_records_to_table(
                "processed_events", records=processed, columns=PROCESSED_EVENT_COLUMNS
            )
        seconds = time.perf_counter() - started
        count = await conn.fetchval("SELECT count(*) FROM members")
    assert count == len(members), f"COPY baseline holds {count} members"
    return seconds


async def store_counts(database: str) -> dict[str, int]:
    async with connected(database) as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM members) AS members,"
            " (SELECT count(DISTINCT kpj) FROM members) AS kpjs,"
            " (SELECT count(*) FROM processed_events) AS processed,"
            " (SELECT count(*) FROM partner_requests WHERE status = 'recorded'"
            "   AND kpj IS NOT NULL) AS recorded"
        )
    assert row is not None
    return {k: int(v) for k, v in row.items()}


def add_drain_options(parser: argparse.ArgumentParser, events: int, timeout_s: float) -> None:
    """The options of a benchmark that drains fresh events through the core consumer."""
    parser.add_argument("--broker", choices=["kafka", "tansu"], default="kafka")
    parser.add_argument("--events", type=int, default=events)
    parser.add_argument("--results", type=Path, help="append the figures as a JSON line")
    parser.add_argument("--timeout", type=float, default=timeout_s, help="bound on the drain (s)")


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_drain_options(parser, events=100_000, timeout_s=140.0)
    parser.add_argument(
        "--strict", action="store_true", help="exit with 3 when a target is not met"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the consumer during the drain")
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    n: int = args.events
    rid = run_id()
    now = datetime.now(UTC)

    started = time.perf_counter()
    events = build_events(n, rid, now)
    print(f"drain: {n:,} envelopes built in {time.perf_counter() - started:.1f} s", flush=True)
    # The benchmark's own copy of every event is not the consumer's to carry: without
    # this, each full garbage collection in the consumer would walk all of them.
    gc.freeze()

    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-drain-"))
    broker: Broker = embedded_broker(
        args.broker, data_dir, KAFKA_LIBS, log_file=data_dir / f"{args.broker}.log"
    )
    await broker.start()
    try:
        async with (
            temporary_database("hub_bench_drain") as drain_db,
            temporary_database("hub_bench_copy") as copy_db,
        ):
            await upgrade_to_head_async(sqlalchemy_url(drain_db))
            await upgrade_to_head_async(sqlalchemy_url(copy_db))
            settings = load_settings(
                kafka_bootstrap_servers=broker.bootstrap_servers,
                kafka_enable_idempotence=broker.idempotence,
                database_url=sqlalchemy_url(drain_db),
            )
            copy_s = await copy_partner_requests(drain_db, partner_request_rows(events, now))
            print(f"  partner_requests COPYed in {copy_s:.1f} s", flush=True)
            members, processed = store_rows(events, now, settings)
            gc.freeze()
            # The baseline brackets the drain: twice before it and twice after, the median
            # kept. A single COPY moved between 80,000 and 160,000 events/s from run to run
            # on this shared machine, and the ratio with it; after the drain, while its
            # writes are still going to disk, it runs slower than before.
            baselines = [await copy_baseline(copy_db, members, processed) for _ in range(2)]
            produce_s = await produce(settings, broker.bootstrap_servers, events)
            print(
                f"  produced {n:,} events to {args.broker} in {produce_s:.1f} s "
                f"({fmt_rate(n / produce_s)})",
                flush=True,
            )

            result = await drain(settings, broker.bootstrap_servers, n, args.timeout, args.profile)
            stats = result.stats
            print(
                f"  consumer: {stats.recorded:,} recorded, {stats.rejected:,} rejected, "
                f"{stats.duplicates:,} duplicates, {stats.dead_lettered:,} dead-lettered, "
                f"{stats.batches:,} batches",
                flush=True,
            )
            counts = await store_counts(drain_db)

            for _ in range(2):
                baselines.append(await copy_baseline(copy_db, members, processed))
            baseline_s = statistics.median(baselines)
            print(
                f"  COPY baseline: {len(members) + len(processed):,} rows in "
                + ", ".join(f"{b:.2f}" for b in baselines)
                + f" s (twice before the drain, twice after it); median {baseline_s:.2f} s"
            )
    finally:
        await broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    copy_events_per_s = n / baseline_s
    drain_per_s = stats.recorded / result.seconds
    steady = (
        (stats.recorded - result.first_recorded) / (result.seconds - result.first_record_s)
        if result.first_record_s is not None and result.seconds > result.first_record_s
        else 0.0
    )
    ratio = drain_per_s / copy_events_per_s
    correct = result.completed and all(v == n for v in counts.values())
    rss_after = result.progress[-1][2]
    # CPU time per event holds still on a shared machine where rates do not.
    used = dict(result.cpu)
    per_event_us = {
        name: used.get(name, 0.0) * result.seconds / max(stats.recorded, 1) * 1e6
        for name in ("consumer (python)", "postgres")
    }
    rows = [
        Row(
            "drain: events/s (from consumer start)",
            fmt_rate(drain_per_s),
            f">= {TARGET_EVENTS_PER_S:,.0f}/s",
            result.completed and drain_per_s >= TARGET_EVENTS_PER_S,
        ),
        Row(
            "drain: time to drain",
            f"{result.seconds:.2f} s"
            if result.completed
            else f"TIMED OUT after {result.seconds:.0f} s at {stats.recorded:,}",
        ),
        Row(
            "drain: first record after",
            "-" if result.first_record_s is None else f"{result.first_record_s:.2f} s",
        ),
        Row("drain: events/s after first record", fmt_rate(steady)),
        Row(
            "drain: batches (avg events/batch)",
            f"{stats.batches:,} ({stats.recorded / max(stats.batches, 1):,.0f})",
        ),
        Row(
            "COPY: rows/s (members + processed_events)",
            fmt_rate((len(members) + len(processed)) / baseline_s),
        ),
        Row("COPY: events-equivalent/s (median of 4)", fmt_rate(copy_events_per_s)),
        Row(
            "COPY: twice before, twice after the drain",
            " / ".join(fmt_rate(n / b) for b in baselines),
        ),
        Row(
            "ratio drain/COPY (events/s)",
            f"{ratio:.3f}",
            f">= {TARGET_RATIO}",
            ratio >= TARGET_RATIO,
        ),
        Row(
            "CPU per event: consumer / PostgreSQL",
            f"{per_event_us['consumer (python)']:.0f} / {per_event_us['postgres']:.0f} µs",
        ),
        Row(
            "consumer RSS before / after the drain",
            f"{result.rss_before / 2**20:,.0f} / {rss_after / 2**20:,.0f} MiB",
        ),
        Row(
            "check: members / kpjs / processed / recorded reqs",
            " / ".join(f"{counts[k]:,}" for k in ("members", "kpjs", "processed", "recorded")),
            f"== {n:,}",
            correct,
        ),
    ]
    print_table(f"drain ({n:,} RegistrationSubmitted events; run {rid})", rows)
    print("\ndrain rate by interval")
    last_t, last_n = 0.0, 0
    for t, recorded, rss in result.progress:
        if t > last_t:
            print(
                f"  {last_t:6.1f} .. {t:6.1f} s: {last_n:>8,} .. {recorded:>8,} recorded, "
                f"{fmt_rate((recorded - last_n) / (t - last_t))}, RSS {rss / 2**20:,.0f} MiB"
            )
        last_t, last_n = t, recorded
    print("\nCPU during the drain (cores; the machine is shared)")
    print("  " + ", ".join(f"{name} {cores:.2f}" for name, cores in result.cpu))
    if result.profile is not None:
        print_profile("consumer (this process) during the drain (py-spy)", result.profile)
    append_results(
        args,
        "drain",
        {
            "events": n,
            "events_per_s": drain_per_s,
            "copy_events_per_s": copy_events_per_s,
            "copy_events_per_s_each": [n / b for b in baselines],
            "ratio": ratio,
            "completed": correct,
            "rss_before_mib": result.rss_before / 2**20,
            "rss_after_mib": rss_after / 2**20,
            "rss_growth_mib": (rss_after - result.rss_before) / 2**20,
            "consumer_cpu_us_per_event": per_event_us["consumer (python)"],
            "postgres_cpu_us_per_event": per_event_us["postgres"],
        },
    )
    if not correct:
        return 1
    missed = any(row.met is False for row in rows)
    return 3 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(run_benchmark(main))
