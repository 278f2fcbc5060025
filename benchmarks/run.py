"""`make bench`: every benchmark on both brokers, then one table against issue 15's targets.

    python -m benchmarks.run [--brokers kafka,tansu] [--only ingest,drain,...] [--quick]

Each benchmark runs as its own process (``python -m benchmarks.<name> --broker B
--results FILE``), with its baseline measured in the same run, and appends its figures
to FILE as one JSON line (``benchmarks._report.append_results``). This runner reads them
back and prints, for each broker, each target with the figure measured, and met or not
met. A benchmark that failed or did not report a figure shows "not measured": nothing
is filled in. The machine's load (``/proc/loadavg``) before and after is printed with
the table, because this 2-core machine is shared and every rate depends on it.

The first step, ``benchmarks.floor``, measures the machine rather than the hub: the
least pipeline that keeps the hub's guarantees (the claim durable and Apache Kafka's
acknowledgement in hand before the 202). Its figures, under "machine floor" in both
brokers' tables, are what an absolute target is read against on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._procs import REPO_ROOT
from benchmarks._report import Row, print_table

BROKERS = ("kafka", "tansu")


@dataclass(frozen=True, slots=True)
class Step:
    """One benchmark module, the arguments it gets, and whether it runs once per broker."""

    module: str
    arguments: tuple[str, ...] = ()
    per_broker: bool = True


STEPS = {
    # What this machine gives the least pipeline that keeps the hub's guarantees: the
    # yardstick the absolute targets are read against (on Apache Kafka, run once).
    "floor": Step("benchmarks.floor", per_broker=False),
    "ingest": Step("benchmarks.ingest"),
    # The same load in production's layout: a broker, `hub api` and `hub consume`.
    "ingest_split": Step("benchmarks.ingest", ("--layout", "split")),
    "latency": Step("benchmarks.latency"),
    "latency_split": Step("benchmarks.latency", ("--layout", "split")),
    "drain": Step("benchmarks.drain", ("--timeout", "240")),
    "pos_upload": Step("benchmarks.pos_upload", ("--cold",), per_broker=False),
    # The same upload in production's layout: a broker, `hub api` and `hub consume`.
    "pos_upload_split": Step(
        "benchmarks.pos_upload", ("--cold", "--layout", "split"), per_broker=False
    ),
    "memory": Step("benchmarks.memory"),
}
_QUICK_INGEST = ("--duration", "5", "--warmup", "2", "--requests", "40000")
QUICK = {
    "floor": ("--duration", "3", "--warmup", "1", "--requests", "20000"),
    "ingest": _QUICK_INGEST,
    "ingest_split": _QUICK_INGEST,
    "drain": ("--events", "20000"),
    "memory": ("--events", "50000"),
}

Figures = dict[str, dict[str, Any]]  # benchmark -> figure -> value


@dataclass(frozen=True, slots=True)
class Target:
    """A figure of issue 15 and the bound it is held to."""

    name: str
    benchmark: str
    figure: str
    bound: str
    met: Callable[[float], bool]
    shown: Callable[[float], str]


def _rate(v: float) -> str:
    return f"{v:,.0f}/s"


def _ms(v: float) -> str:
    return f"{v:,.1f} ms"


def _us(v: float) -> str:
    return f"{v:,.0f} µs"


def _mib(v: float) -> str:
    return f"{v:,.0f} MiB"


def _flow_targets(layout: str = "") -> tuple[Target, ...]:
    """Ingest's and POST -> recorded's targets, for ``hub run`` or (``layout`` "split")
    production's layout, whose figures the benchmarks report as ``ingest_split`` and
    ``latency_split``."""
    ingest, latency = (f"{name}_{layout}" if layout else name for name in ("ingest", "latency"))
    named = ", production layout" if layout else ""
    return (
        Target(
            f"ingest{named}: accepted req/s (32 connections)",
            ingest,
            "accepted_per_s",
            ">= 2,500/s",
            lambda v: v >= 2_500,
            _rate,
        ),
        Target(f"ingest{named}: p99 latency", ingest, "p99_ms", "<= 50 ms", lambda v: v <= 50, _ms),
        Target(
            f"ingest{named}: ratio hub/bare endpoint",
            ingest,
            "ratio",
            ">= 0.3",
            lambda v: v >= 0.3,
            lambda v: f"{v:.3f}",
        ),
        Target(
            f"whole-stack CPU per accepted request{named}",
            ingest,
            "cpu_ms_per_request",
            "<= 0.6 ms",
            lambda v: v <= 0.6,
            lambda v: f"{v:.2f} ms",
        ),
        Target(
            f"POST -> recorded p99 at 1,000 req/s{named}",
            latency,
            "p99_ms",
            "<= 250 ms",
            lambda v: v <= 250,
            _ms,
        ),
    )


TARGETS = (
    *_flow_targets(),
    *_flow_targets("split"),
    Target(
        "drain: events/s",
        "drain",
        "events_per_s",
        ">= 25,000/s",
        lambda v: v >= 25_000,
        _rate,
    ),
    Target(
        "drain: ratio to COPY",
        "drain",
        "ratio",
        ">= 0.25",
        lambda v: v >= 0.25,
        lambda v: f"{v:.3f}",
    ),
    Target(
        "pos upload, 100,000 rows",
        "pos_upload",
        "seconds",
        "<= 10 s",
        lambda v: v <= 10,
        lambda v: f"{v:.1f} s",
    ),
    Target(
        "pos upload, production layout",
        "pos_upload_split",
        "seconds",
        "<= 10 s",
        lambda v: v <= 10,
        lambda v: f"{v:.1f} s",
    ),
    Target(
        "memory: hub consume RSS growth",
        "memory",
        "rss_growth_mib",
        "flat (<= 32 MiB)",
        lambda v: v <= 32,
        lambda v: f"{v:+.0f} MiB",
    ),
)
"""Issue 15's targets (2-core machine, baselines in the same run)."""

BASELINES = (
    ("ingest: bare endpoint req/s", "ingest", "bare_per_s", _rate),
    ("ingest, production layout: bare endpoint req/s", "ingest_split", "bare_per_s", _rate),
    ("drain: COPY events-equivalent/s", "drain", "copy_events_per_s", _rate),
    ("ingest: p50 latency", "ingest", "p50_ms", _ms),
    ("ingest, production layout: p50 latency", "ingest_split", "p50_ms", _ms),
    ("POST -> recorded p50 at 1,000 req/s", "latency", "p50_ms", _ms),
    ("POST -> recorded p50 at 1,000 req/s, production layout", "latency_split", "p50_ms", _ms),
    ("memory: events through hub consume", "memory", "events", lambda v: f"{v:,.0f}"),
    ("memory: hub consume RSS after them", "memory", "rss_after_mib", _mib),
    ("memory: hub consume peak RSS", "memory", "rss_peak_mib", _mib),
    ("drain: benchmark process RSS after", "drain", "rss_after_mib", _mib),
    ("drain: consumer CPU per event", "drain", "consumer_cpu_us_per_event", _us),
    ("drain: PostgreSQL CPU per event", "drain", "postgres_cpu_us_per_event", _us),
    ("machine floor: uvicorn + FastAPI bare endpoint req/s", "floor", "fastapi_ok_per_s", _rate),
    ("machine floor: claim + Kafka ack + 202 req/s", "floor", "pipeline_ok_per_s", _rate),
    ("machine floor: claim + Kafka ack + 202 p99", "floor", "pipeline_p99_ms", _ms),
    (
        "machine floor: claim + Kafka ack + 202, whole-stack CPU a request",
        "floor",
        "pipeline_cpu_ms_stack",
        lambda v: f"{v:.2f} ms",
    ),
)


def load_results(path: Path) -> dict[str, Figures]:
    """broker -> benchmark -> figures, from the JSON lines the benchmarks appended."""
    results: dict[str, Figures] = {}
    if not path.exists():
        return results
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            results.setdefault(entry["broker"], {})[entry["benchmark"]] = entry["figures"]
    return results


def broker_figures(measured: dict[str, Figures], broker: str) -> Figures:
    """The figures one broker's table shows: its own, and those of the benchmarks that ran
    once for every broker (recorded under a name that is not a broker's: the pos upload's
    "auto", the floor's "machine")."""
    figures: Figures = {}
    for name, shared in measured.items():
        if name not in BROKERS:
            figures.update(shared)
    figures.update(measured.get(broker, {}))
    return figures


def table_rows(figures: Figures) -> list[Row]:
    """The targets, then the same run's baselines, for one broker."""
    rows = []
    for t in TARGETS:
        value = figures.get(t.benchmark, {}).get(t.figure)
        if value is None:
            rows.append(Row(t.name, "not measured", t.bound, False))
        else:
            rows.append(Row(t.name, t.shown(float(value)), t.bound, t.met(float(value))))
    for name, benchmark, figure, shown in BASELINES:
        value = figures.get(benchmark, {}).get(figure)
        rows.append(Row(name, "not measured" if value is None else shown(float(value))))
    return rows


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_step(
    name: str, step: Step, broker: str, results: Path, extra: Sequence[str], log_dir: Path
) -> bool:
    argv = [sys.executable, "-m", step.module, *step.arguments, *extra]
    argv += ["--results", str(results)]
    if step.per_broker:
        argv += ["--broker", broker]
    label = f"{name} ({broker})" if step.per_broker else name
    print(f"\n=== {label}: {' '.join(argv[1:])}  [load {load_average()}]", flush=True)
    started = time.perf_counter()
    log = log_dir / f"{name}-{broker}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert process.stdout is not None
        for chunk in iter(process.stdout.readline, b""):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            out.write(chunk)
        code = process.wait()
    print(f"=== {label}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
    return code in (0, 3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default=",".join(BROKERS))
    parser.add_argument("--only", default=",".join(STEPS))
    parser.add_argument("--quick", action="store_true", help="short runs, to try the runner")
    parser.add_argument("--results", type=Path, help="keep the JSON lines here")
    args = parser.parse_args(argv)
    brokers = [b for b in args.brokers.split(",") if b]
    wanted = [s for s in args.only.split(",") if s]
    unknown = [b for b in brokers if b not in BROKERS] + [s for s in wanted if s not in STEPS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    log_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    results = args.results or log_dir / "results.jsonl"
    load_before = load_average()
    started = time.perf_counter()
    failed: list[str] = []
    for broker in brokers:
        for name in wanted:
            step = STEPS[name]
            if not step.per_broker and broker != brokers[0]:
                continue
            if not (REPO_ROOT / (step.module.replace(".", "/") + ".py")).exists():
                print(f"\n=== {step.module}: not in this tree, skipped", flush=True)
                continue
            extra = QUICK.get(name, ()) if args.quick else ()
            if not run_step(name, step, broker, results, extra, log_dir):
                failed.append(f"{name} ({broker})")
    measured = load_results(results)
    print(
        f"\nissue 15 targets, `make bench` ({time.perf_counter() - started:,.0f} s; "
        f"load average {load_before} before, {load_average()} after, on "
        f"{os.cpu_count()} cores shared with other work)"
    )
    for broker in brokers:
        print_table(f"broker: {broker}", table_rows(broker_figures(measured, broker)))
    if failed:
        print(f"\nfailed: {', '.join(failed)} (logs in {log_dir})")
        return 1
    # Every step's output was printed above; its copies are only worth keeping on failure.
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
