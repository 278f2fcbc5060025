"""Batch upload: an agent's 100,000-row CSV file through the real hub's Kantor Pos channel.

    python -m benchmarks.pos_upload [--rows 100000] [--bad-every 1000] [--cold]
        [--broker kafka|tansu] [--layout run|split] [--profile DIR]

1. Write a file of distinct valid registrations as a postal agent writes it (every
   ``--bad-every``-th row with a birth date that disagrees with its NIK), and a smaller
   warm-up file of other people.
2. Baseline, in this run, in this process: read and validate the same file without the
   hub: the adapter's own ``read_rows`` (CSV parsing, the post office's wire model,
   intake's request model), i.e. everything the hub does to a row before intake.
3. The hub: ``hub run`` on a fresh PostgreSQL database (it spawns its broker and
   migrates); with ``--layout split``, production's layout instead: a broker, then
   ``hub consume`` and ``hub api`` as processes of their own (the CPU table then names
   both; the RSS figures are the API process's).
   Upload the warm-up file, then ``ANALYZE``, which autovacuum does within a minute of
   the first rows of a new database: without statistics PostgreSQL scans the whole
   ``members`` table for the inbox's per-batch KPJ lookup (``--cold`` skips both
   steps and shows it). Then upload the file as ``hub upload pos`` does (signed,
   streamed from disk) and time it until the whole answer is read. The hub's peak RSS
   is reset before each upload and read after it: the same growth for files of
   different sizes shows the upload does not hold the file.
4. Upload the same file again: the answer must be the same bytes, and neither the
   request inbox nor the members table may change.
5. Wait until the core consumer has recorded every accepted registration.

Prints rows/s, total seconds (target: 10 s), the hub/baseline ratio (the machine
is shared and noisy, so the same run's baseline is what to compare against), peak RSS,
and the re-upload check. Every process it starts is ended, and the database dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import orjson

from adapters.pos.client import upload_file
from adapters.pos.csv_rows import CSV_COLUMNS, read_rows
from benchmarks._database import connected, temporary_database
from benchmarks._hub import add_hub_options, clean_work_dir, running_hub
from benchmarks._people import person
from benchmarks._procs import (
    PySpy,
    cpu_snapshot,
    cpu_usage,
    load_average,
    print_profile,
    run_benchmark,
)
from benchmarks._report import Row, append_results, print_table, run_id
from hub.errors import HubError

AGENT, SECRET = "pos-demo", "pos-demo-secret"  # config/dev.toml
TARGET_TOTAL_S = 10.0
MAX_ROW_CHARS = 4096  # config/hub.toml [channels.pos] upload_max_row_chars


def write_file(path: Path, rows: range, bad_every: int, rid: str) -> int:
    """The agent's file of people ``rows``; returns how many rows are meant to be rejected."""
    bad = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for i in rows:
            p = person(i)
            birth = p.birth_date.isoformat()
            if bad_every and i % bad_every == bad_every - 1:
                birth = p.birth_date.replace(year=p.birth_date.year - 1).isoformat()
                bad += 1
            writer.writerow(
                [
                    f"AGN-{rid}-{i:06d}",
                    p.nik,
                    p.full_name,
                    birth,
                    {"M": "L", "F": "P"}[p.sex],
                    p.phone,
                    p.address,
                    p.occupation,
                    "1000000",
                    "JKK+JKM",
                    f"AGN-{i % 500:03d}",
                ]
            )
    return bad


def baseline(path: Path) -> tuple[float, int, int]:
    """Seconds to read and validate the file in-process, with accepted and refused counts."""
    started = time.perf_counter()
    valid = refused = 0
    with path.open("rb") as file:
        for _, _, parsed in read_rows(file, MAX_ROW_CHARS):
            if isinstance(parsed, HubError):
                refused += 1
            else:
                valid += 1
    return time.perf_counter() - started, valid, refused


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def reset_peak_rss(pid: int) -> bool:
    """Make VmHWM start again from the current RSS (Linux: clear_refs 5)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


async def store_counts(database: str) -> tuple[int, int, int]:
    """(partner_requests of the agent, recorded ones, members) in the hub's store."""
    async with connected(database) as conn:
        row = await conn.fetchrow(
            "SELECT count(*) AS requests, count(*) FILTER (WHERE status = 'recorded') AS recorded"
            " FROM partner_requests WHERE partner_id = $1",
            AGENT,
        )
        members = await conn.fetchval("SELECT count(*) FROM members")
    return int(row["requests"]), int(row["recorded"]), int(members)


async def wait_recorded(database: str, accepted: int, within_s: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < within_s:
        _, recorded, _ = await store_counts(database)
        if recorded >= accepted:
            return time.perf_counter() - started
        await asyncio.sleep(0.2)
    return None


async def timed_upload(url: str, path: Path) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await asyncio.to_thread(upload_file, url, AGENT, SECRET, path, timeout_s=300)
    return time.perf_counter() - started, response


async def measured_upload(url: str, path: Path, pid: int) -> tuple[float, httpx.Response, int]:
    """Seconds, answer, and how far the hub's RSS peaked above where it was (KiB)."""
    if not reset_peak_rss(pid):
        print("  (could not reset the peak RSS: the figure is the peak since start)")
    before = memory(pid)["VmRSS"]
    seconds, response = await timed_upload(url, path)
    if response.status_code != 200:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:500]}")
    return seconds, response, memory(pid)["VmHWM"] - before


async def analyze(database: str) -> None:
    async with connected(database) as conn:
        await conn.execute("ANALYZE")


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-every", type=int, default=1000, help="0: every row valid")
    parser.add_argument("--warmup-rows", type=int, default=20_000)
    parser.add_argument(
        "--cold", action="store_true", help="no warm-up upload and no ANALYZE before the upload"
    )
    add_hub_options(parser, "the hub during the upload")
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(f"machine load average (1/5/15 min) at the start: {load_average()}", flush=True)

    rid = run_id()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-pos-"))
    failed = True
    try:
        path, warm_path = work / "formulir.csv", work / "warmup.csv"
        bad = write_file(path, range(args.rows), args.bad_every, rid)
        write_file(warm_path, range(args.rows, args.rows + args.warmup_rows), 0, rid)
        size = path.stat().st_size
        print(
            f"pos upload: {args.rows:,} rows ({bad:,} meant to be refused), {size / 2**20:.1f} MiB"
        )

        base_s, base_valid, base_refused = baseline(path)
        print(f"  baseline (read + validate in-process): {base_s:.2f} s", flush=True)

        async with (
            temporary_database() as database,
            running_hub(database, work, args.broker, args.hub_setting, args.layout) as hub,
        ):
            url = hub.url
            print(f"  hub healthy after {hub.startup_s:.1f} s (db {database})", flush=True)
            warm_growth = None
            if not args.cold:
                warm_s, _, warm_growth = await measured_upload(url, warm_path, hub.pid)
                await wait_recorded(database, args.warmup_rows, within_s=60)
                await analyze(database)
                print(f"  warm-up: {args.warmup_rows:,} rows in {warm_s:.1f} s; ANALYZE")
            rss_before = memory(hub.pid)["VmRSS"]
            requests_start, _, _ = await store_counts(database)
            spy = None if args.profile is None else PySpy(hub.pid, args.profile / "hub-pos.txt")
            if spy is not None:
                await spy.start()
            cpu_before = cpu_snapshot()
            upload_s, first, growth = await measured_upload(url, path, hub.pid)
            cpu = cpu_usage(cpu_before, cpu_snapshot(), hub.python_pids)
            profile = None if spy is None else await spy.stop()
            answer = orjson.loads(first.content)
            accepted, refused = answer["jumlahDiterima"], answer["jumlahDitolak"]
            print(f"  upload: {accepted:,} accepted, {refused:,} refused in {upload_s:.2f} s")

            requests_before, _, _ = await store_counts(database)
            reupload_s, again = await timed_upload(url, path)
            caught_up_s = await wait_recorded(database, requests_start + accepted, within_s=180)
            requests_after, recorded, members = await store_counts(database)
            # Anything the re-upload published would have been applied by now.
            await asyncio.sleep(1.0)
            _, _, members_settled = await store_counts(database)

        same_answer = again.content == first.content
        mib = 1024.0
        rows = [
            Row("file: rows / size", f"{args.rows:,} / {size / 2**20:.1f} MiB"),
            Row("baseline: read + validate in-process", f"{base_s:.2f} s"),
            Row("baseline: rows/s", f"{args.rows / base_s:,.0f}/s"),
            Row(
                "hub: upload until whole answer read",
                f"{upload_s:.2f} s",
                f"< {TARGET_TOTAL_S:.0f} s",
                upload_s < TARGET_TOTAL_S,
            ),
            Row("hub: rows/s", f"{args.rows / upload_s:,.0f}/s"),
            Row("hub: accepted / refused rows", f"{accepted:,} / {refused:,}"),
            Row(
                "hub: same verdicts as the baseline",
                str((accepted, refused) == (base_valid, base_refused)),
            ),
            Row("ratio hub / baseline (time)", f"{upload_s / base_s:.1f}x"),
            Row("hub: answer size", f"{len(first.content) / 2**20:.1f} MiB"),
            Row("hub: RSS before the upload", f"{rss_before / mib:.0f} MiB"),
            Row("hub: peak RSS during the upload", f"{(rss_before + growth) / mib:.0f} MiB"),
            Row(
                f"hub: peak RSS growth, {args.rows:,} rows",
                f"+{growth / mib:.0f} MiB (file {size / 2**20:.1f} MiB)",
            ),
            Row(
                f"hub: peak RSS growth, {args.warmup_rows:,}-row warm-up",
                "n/a (--cold)" if warm_growth is None else f"+{warm_growth / mib:.0f} MiB",
            ),
            Row("re-upload: seconds", f"{reupload_s:.2f} s"),
            Row(
                "re-upload: same answer (bytes, sha256)",
                f"{same_answer} ({hashlib.sha256(again.content).hexdigest()[:12]})",
            ),
            Row("re-upload: new inbox rows", f"{requests_after - requests_before:,}"),
            Row("re-upload: new members", f"{members_settled - members:,}"),
            Row(
                "consumer: every accepted row recorded",
                "not within 180 s"
                if caught_up_s is None
                else f"{caught_up_s:.1f} s after the re-upload",
            ),
            Row(
                "members / recorded / accepted", f"{members:,} / {recorded:,} / {requests_after:,}"
            ),
            Row("machine load average (1/5/15 min) at the end", load_average()),
        ]
        print_table(
            f"pos upload ({args.rows:,} rows{', cold' if args.cold else ''}; run {rid})", rows
        )
        print("\nCPU during the measured upload (cores; the machine is shared)")
        print("  " + ", ".join(f"{n} {c:.2f}" for n, c in cpu))
        if profile is not None:
            print_profile("hub process during the upload (py-spy)", profile)
        append_results(
            args,
            "pos_upload",
            {
                "rows": args.rows,
                "seconds": round(upload_s, 2),
                "upload_s": round(upload_s, 2),
                "baseline_s": round(base_s, 2),
                "ratio": round(upload_s / base_s, 2),
                "load_average_1m": float(load_average().split()[0]),
            },
        )
        failed = (
            not same_answer
            or requests_after != requests_before
            or members_settled != members
            or caught_up_s is None
        )
        if failed:
            return 1
        return 0 if upload_s < TARGET_TOTAL_S else 3
    finally:
        clean_work_dir(work, keep_logs=failed, generated="*.csv")


if __name__ == "__main__":
    sys.exit(run_benchmark(main))
