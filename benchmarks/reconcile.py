"""Reconciliation at scale: a 1,000,000-line settlement file against 1,000,000 hub rows.

One partner-day of the canonical CSV, with 0.1% of the file/hub in each exception category
(1,000 lines each), seeded into a throw-away PostgreSQL database with COPY. Measured in
child processes (wall time and peak RSS from wait4):

- baseline: reading and parsing the file alone (the same reader, no matching);
- ``hub reconcile`` itself, as an operator runs it.

Then summary.json must show exactly the seeded counts. Targets: < 60 s, < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks._database import INBOX_COLUMNS, connected, sqlalchemy_url, temporary_database
from benchmarks._procs import run_benchmark
from benchmarks._report import Row, print_table
from hub.reconciliation.canonical import CanonicalCsv
from hub.settlement.statement import STATEMENT_COLUMNS
from hub.store.inbox import SETTLEMENT_COLUMNS
from hub.store.migrations import upgrade_to_head

PARTNER = "bench-api"
DAY = date(2026, 11, 30)
WIB = ZoneInfo("Asia/Jakarta")
MONTH = 16_800
LINES = int(os.environ.get("BENCH_RECONCILE_LINES", "1000000"))
"""1,000,000; smaller only to try things out (the targets are for a million)."""
EACH = LINES // 1000
"""0.1% of the file in each exception category."""
DAY_ROWS = LINES - 2 * EACH
"""Hub payments dated DAY; with EACH dated the next day and EACH reversals: 1,000,000 rows."""
TARGET_S = 60.0
TARGET_MB = 500.0

EXPECTED = {
    "matched": DAY_ROWS - 3 * EACH,
    "missing_in_hub": EACH,
    "missing_in_partner": EACH,
    "amount_mismatch": EACH,
    "duplicate_in_file": EACH,
    "reversed_but_settled": EACH,
    "after_cutoff": EACH,
}

COLUMNS = (*INBOX_COLUMNS, "after_close", *SETTLEMENT_COLUMNS)


def _nik(i: int) -> str:
    return f"5171{1 + i % 28:02d}{1 + i % 12:02d}90{i % 10000:04d}"[:16].ljust(16, "0")


def _paid_at(i: int) -> datetime:
    return datetime(2026, 11, 30, 0, 0, tzinfo=WIB) + timedelta(seconds=(i * 37) % 82_800)


def _hub_row(
    kind: str, i: int, day: date, settled: tuple[Any, ...], now: datetime
) -> tuple[Any, ...]:
    """Hub row ``i``: a recorded payment (or reversal) BN-i, in ``COLUMNS`` order; ``settled``
    is its amount, months, paid_at and programme split."""
    hub_prefix, digest = ("PAY", "0") if kind == "payment" else ("REV", "1")
    return (
        PARTNER,
        kind,
        f"BN-{i:08d}",
        digest * 64,
        uuid.uuid4(),
        f"{hub_prefix}-{i:016X}",
        _nik(i),
        "recorded",
        "{}",
        now,
        now,
        False,
        day,
        *settled,
    )


def _hub_rows() -> Any:
    """Rows 0..EACH-1 are not in the file; EACH..2*EACH-1 settled at another amount;
    2*EACH..3*EACH-1 reversed; 3*EACH..4*EACH-1 twice in the file; then the next day's."""
    now = datetime.now(UTC)
    for i in range(DAY_ROWS + EACH):
        day = DAY if i < DAY_ROWS else DAY + timedelta(days=1)
        yield _hub_row("payment", i, day, (MONTH, 1, _paid_at(i), 10_000, 6_800, 0), now)
    for i in range(2 * EACH, 3 * EACH):
        yield _hub_row("reversal", i, DAY, (None,) * 6, now)


def _file_line_numbers() -> list[int]:
    """Which hub row each file line stands for (-1 - k: the k-th reference unknown to the hub)."""
    rows = list(range(EACH, DAY_ROWS))  # all of the day's but the missing_in_partner ones
    rows += list(range(3 * EACH, 4 * EACH))  # the duplicates
    rows += list(range(DAY_ROWS, DAY_ROWS + EACH))  # dated the next day (after the cut-off)
    rows += [-1 - k for k in range(EACH)]  # unknown to the hub
    random.Random(20261130).shuffle(rows)
    assert len(rows) == LINES
    return rows


def write_file(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATEMENT_COLUMNS)
        for i in _file_line_numbers():
            if i < 0:
                reference, amount, paid = f"UNKNOWN-{-i:06d}", MONTH, _paid_at(-i)
            else:
                reference, paid = f"BN-{i:08d}", _paid_at(i)
                amount = MONTH + 100 if EACH <= i < 2 * EACH else MONTH
            writer.writerow(
                (
                    reference,
                    "",
                    _nik(abs(i)),
                    1,
                    amount,
                    paid.isoformat(),
                    DAY.isoformat(),
                    "settled",
                    "false",
                    "",  # agent_id: no agency in this file
                )
            )


async def seed(database: str) -> float:
    await asyncio.to_thread(upgrade_to_head, sqlalchemy_url(database))
    async with connected(database) as conn:
        started = time.perf_counter()
        batch: list[tuple[Any, ...]] = []
        for row in _hub_rows():
            batch.append(row)
            if len(batch) == 100_000:
                await conn.copy_records_to_table("partner_requests", records=batch, columns=COLUMNS)
                batch = []
        if batch:
            await conn.copy_records_to_table("partner_requests", records=batch, columns=COLUMNS)
        await conn.execute("ANALYZE partner_requests")
        return time.perf_counter() - started


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB) and exit code of a child process, and its output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    return elapsed, usage.ru_maxrss / 1024, child.returncode, text


def baseline(path: Path) -> None:
    """Read and parse the file with the reconciler's own reader; nothing else."""
    count = total = 0
    with path.open("rb") as stream:
        for line in CanonicalCsv().read(stream, WIB):
            count += 1
            total += line.amount
    print(json.dumps({"lines": count, "amount": total}))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    args = parser.parse_args(argv)
    if args.baseline is not None:
        baseline(args.baseline)
        return 0
    with tempfile.TemporaryDirectory(prefix="hub-bench-reconcile-") as tmp:
        folder = Path(tmp)
        file = folder / "settlement.csv"
        started = time.perf_counter()
        write_file(file)
        wrote_s = time.perf_counter() - started
        async with temporary_database("hub_bench_reconcile") as database:
            seed_s = await seed(database)
            env = {
                **os.environ,
                "HUB_DATABASE_URL": sqlalchemy_url(database),
                "HUB_PARTNERS": json.dumps(
                    {PARTNER: {"secret": "bench", "channel": "hub-api", "timezone": "Asia/Jakarta"}}
                ),
                "HUB_RECONCILIATION_OUTPUT_DIR": str(folder / "out"),
                "COLUMNS": "120",
            }
            py = sys.executable
            base_s, base_mb, base_code, base_out = measured(
                [py, "-m", "benchmarks.reconcile", "--baseline", str(file)], env
            )
            run_s, run_mb, run_code, run_out = measured(
                [py, "-m", "hub", "reconcile", PARTNER, DAY.isoformat(), str(file)], env
            )
        if base_code != 0 or run_code not in (0, 1):
            print(base_out[-2000:], run_out[-3000:])
            return 2
        summary = json.loads(
            (folder / "out" / PARTNER / DAY.isoformat() / "summary.json").read_text()
        )
    counts = {name: c["count"] for name, c in summary["categories"].items()}
    exact = counts == EXPECTED
    print_table(
        f"Reconciliation: {LINES:,}-line canonical CSV vs {LINES:,} hub rows, "
        f"{EACH:,} ({EACH / LINES:.1%}) of each exception category",
        [
            Row("file written (not measured)", f"{wrote_s:.1f} s"),
            Row("hub rows seeded with COPY (not measured)", f"{seed_s:.1f} s"),
            Row("baseline: read + parse the file, wall", f"{base_s:.1f} s"),
            Row("baseline: peak RSS", f"{base_mb:.0f} MB"),
            Row("hub reconcile: wall", f"{run_s:.1f} s", f"< {TARGET_S:.0f} s", run_s < TARGET_S),
            Row(
                "hub reconcile: peak RSS",
                f"{run_mb:.0f} MB",
                f"< {TARGET_MB:.0f} MB",
                run_mb < TARGET_MB,
            ),
            Row("hub reconcile / baseline (wall)", f"{run_s / base_s:.1f}x"),
            Row("hub reconcile's own timing (summary.json)", f"{summary['seconds']:.1f} s"),
            *(
                Row(f"  {name}", f"{seconds:.1f} s")
                for name, seconds in summary["phase_seconds"].items()
            ),
            Row("exit status (1 = exceptions found)", str(run_code), "1", run_code == 1),
            Row("seeded counts found exactly", str(exact), "True", exact),
            *(
                Row(
                    f"  {name}",
                    f"{counts[name]:,}",
                    f"{EXPECTED[name]:,}",
                    counts[name] == EXPECTED[name],
                )
                for name in EXPECTED
            ),
        ],
    )
    if not exact:
        return 1
    missed = run_s >= TARGET_S or run_mb >= TARGET_MB
    return 3 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(run_benchmark(main))
