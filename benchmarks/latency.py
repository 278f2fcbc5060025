"""End-to-end latency: POST /v1/registrations -> ``recorded``, at a fixed request rate.

    python -m benchmarks.latency [--rate 1000] [--duration 20] [--broker kafka|tansu]
        [--layout run|split] [--results FILE]

1. ``hub run`` (API + core consumer + the broker it spawns) on a fresh PostgreSQL
   database, as ``benchmarks.ingest`` runs it (rate limits taken, never refusing); with
   ``--layout split``, a broker, ``hub api`` and ``hub consume`` instead.
2. An open-loop sender: request *i* is due at ``start + i / rate`` whatever became
   of the earlier ones, sent on the next free keep-alive connection. Latency is
   counted from when it was due, so a hub that falls behind is charged for the
   queue it causes (no coordinated omission).
3. After the run, every accepted registration's ``recorded`` time is read from its
   inbox row (``updated_at``, stamped by the consumer's transaction, a few ms before
   it commits) and set against the time the request was due.

Prints the achieved rate, the 202 answers' p50/p99, POST -> recorded p50/p99 and the
whole stack's CPU per accepted request at this rate (hub, its broker, its database's
PostgreSQL backends, from ``/proc``). The hub is stopped and the database dropped
however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from benchmarks._database import connected, temporary_database
from benchmarks._hub import add_hub_options, clean_work_dir, running_hub
from benchmarks._people import person, registration_body
from benchmarks._procs import load_average, run_benchmark
from benchmarks._report import Row, append_results, fmt_ms, fmt_rate, print_table, run_id
from benchmarks.ingest import PARTNER_SECRET, StackMeter, cpu_rows, wait_recorded
from hub.signing import sign

TARGET_P99_MS = 250.0
CONNECTIONS = 64


class Answer(NamedTuple):
    """One answer, as the load generator timed it (a tuple: one is built per request)."""

    reference: str
    due: float
    """Wall-clock time (``time.time()``) the request was due."""
    status: int
    answered_ms: float
    """From due to the last byte of the answer."""


def raw_request(host: str, reference: str, index: int, timestamp: str) -> bytes:
    body = registration_body(reference, person(index))
    head = (
        f"POST /v1/registrations HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\nX-Partner-Id: demo\r\n"
        f"X-Timestamp: {timestamp}\r\nX-Signature: {sign(PARTNER_SECRET, timestamp, body)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    host: str, port: int, queue: asyncio.Queue[tuple[str, float, bytes] | None], out: list[Answer]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (item := await queue.get()) is not None:
            reference, due, request = item
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            out.append(Answer(reference, due, status, 1000 * (time.time() - due)))
    finally:
        writer.close()


async def send_at_rate(
    host: str, port: int, requests: Sequence[tuple[str, bytes]], rate: float
) -> tuple[list[Answer], float]:
    """Send ``requests`` open-loop at ``rate`` per second; the answers and the seconds taken."""
    queue: asyncio.Queue[tuple[str, float, bytes] | None] = asyncio.Queue()
    answers: list[Answer] = []
    workers = [
        asyncio.create_task(_connection(host, port, queue, answers)) for _ in range(CONNECTIONS)
    ]
    started = time.time()
    loop_start = time.perf_counter()
    try:
        for i, (reference, request) in enumerate(requests):
            delay = loop_start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((reference, started + i / rate, request))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
    finally:
        for worker in workers:
            worker.cancel()
    return answers, time.time() - started


async def recorded_at(database: str, references: Sequence[str]) -> dict[str, float]:
    """When each of ``references`` was recorded (epoch seconds), for those that were."""
    async with connected(database) as conn:
        rows = await conn.fetch(
            "SELECT reference, extract(epoch FROM updated_at)::float8 AS at "
            "FROM partner_requests WHERE status = 'recorded' AND reference = ANY($1::text[])",
            list(references),
        )
    return {r["reference"]: float(r["at"]) for r in rows}


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds, same rate")
    add_hub_options(parser)
    args = parser.parse_args(argv)

    rid = run_id()
    print(f"machine load average (1/5/15 min) at the start: {load_average()}", flush=True)
    n_warm, n_measure = int(args.rate * args.warmup), int(args.rate * args.duration)
    work = Path(tempfile.mkdtemp(prefix="hub-bench-latency-"))
    complete = False
    try:
        async with (
            temporary_database() as database,
            running_hub(database, work, args.broker, args.hub_setting, args.layout) as hub,
        ):
            host = f"127.0.0.1:{hub.port}"
            timestamp = str(int(time.time()))
            requests = [
                (f"LAT-{rid}-{i}", raw_request(host, f"LAT-{rid}-{i}", i, timestamp))
                for i in range(n_warm + n_measure)
            ]
            await send_at_rate("127.0.0.1", hub.port, requests[:n_warm], args.rate)
            meter = StackMeter(hub, database)
            await meter.start()
            answers, took_s = await send_at_rate(
                "127.0.0.1", hub.port, requests[n_warm:], args.rate
            )
            stack = await meter.stop()
            accepted = [a for a in answers if a.status == 202]
            caught_up, _ = await wait_recorded(database, n_warm + len(accepted), within_s=60)
            recorded = await recorded_at(database, [a.reference for a in accepted])

        answered = [a.answered_ms for a in accepted]
        to_recorded = [
            1000 * (recorded[a.reference] - a.due) for a in accepted if a.reference in recorded
        ]
        cpu = stack.per_request_ms(len(accepted))
        p99 = percentile(to_recorded, 0.99)
        rows = [
            Row("offered rate", fmt_rate(args.rate)),
            Row("achieved rate (sent / seconds)", fmt_rate(len(answers) / took_s)),
            Row("answers: 202 / other", f"{len(accepted):,} / {len(answers) - len(accepted):,}"),
            Row(
                "202 answer p50 / p99",
                f"{fmt_ms(percentile(answered, 0.5))} / {fmt_ms(percentile(answered, 0.99))}",
            ),
            Row("recorded / accepted", f"{len(to_recorded):,} / {len(accepted):,}"),
            Row("POST -> recorded p50", fmt_ms(percentile(to_recorded, 0.5))),
            Row(
                "POST -> recorded p99",
                fmt_ms(p99),
                f"<= {TARGET_P99_MS:.0f} ms",
                p99 <= TARGET_P99_MS,
            ),
            Row("POST -> recorded max", fmt_ms(max(to_recorded, default=float("nan")))),
            *cpu_rows(cpu),
            Row("machine load average (1/5/15 min) at the end", load_average()),
        ]
        print_table(
            f"POST -> recorded at {args.rate:,.0f} req/s for {args.duration:g} s "
            f"({args.broker} broker, {args.layout} layout; run {rid})",
            rows,
        )
        append_results(
            args,
            "latency",
            {
                "rate": args.rate,
                "accepted": len(accepted),
                "answer_p50_ms": percentile(answered, 0.5),
                "answer_p99_ms": percentile(answered, 0.99),
                "p50_ms": percentile(to_recorded, 0.5),
                "p99_ms": p99,
                "stack_cpu_ms": cpu["stack"],
                "load_average_1m": float(load_average().split()[0]),
            },
        )
        complete = caught_up is not None and len(to_recorded) == len(accepted)
        return 0 if complete else 1
    finally:
        # The hub's logs stay for a run that failed or did not complete.
        clean_work_dir(work, keep_logs=not complete)


if __name__ == "__main__":
    sys.exit(run_benchmark(main))
