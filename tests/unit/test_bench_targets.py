"""`make bench`'s table: each layout's figures are judged on their own rows, by fixed bounds."""

from benchmarks._report import Row
from benchmarks.run import STEPS, table_rows


def _rows(figures: dict[str, dict[str, float]]) -> dict[str, Row]:
    return {row.name: row for row in table_rows(figures)}


def test_production_layout_figures_are_judged_on_rows_of_their_own() -> None:
    rows = _rows(
        {
            "ingest": {"accepted_per_s": 953, "p99_ms": 56.2, "ratio": 0.280},
            "ingest_split": {"accepted_per_s": 1_178, "p99_ms": 45.7, "ratio": 0.344},
            "latency_split": {"p99_ms": 281.8, "p50_ms": 102.6},
        }
    )
    assert rows["ingest: ratio hub/bare endpoint"] == Row(
        "ingest: ratio hub/bare endpoint", "0.280", ">= 0.3", False
    )
    assert rows["ingest, production layout: ratio hub/bare endpoint"] == Row(
        "ingest, production layout: ratio hub/bare endpoint", "0.344", ">= 0.3", True
    )
    assert rows["ingest, production layout: p99 latency"].met is True
    assert rows["ingest: p99 latency"].met is False
    assert rows["ingest, production layout: accepted req/s (32 connections)"].value == "1,178/s"
    split_latency = rows["POST -> recorded p99 at 1,000 req/s, production layout"]
    assert (split_latency.value, split_latency.met) == ("281.8 ms", False)
    assert rows["POST -> recorded p50 at 1,000 req/s, production layout"].value == "102.6 ms"


def test_a_layout_that_reported_nothing_reads_not_measured() -> None:
    rows = _rows({"ingest_split": {"ratio": 0.31}})
    assert rows["ingest: ratio hub/bare endpoint"] == Row(
        "ingest: ratio hub/bare endpoint", "not measured", ">= 0.3", False
    )
    assert rows["POST -> recorded p99 at 1,000 req/s"].value == "not measured"
    assert rows["ingest, production layout: ratio hub/bare endpoint"].met is True


def test_bounds_hold_at_the_targets_edge() -> None:
    rows = _rows(
        {
            "ingest_split": {"ratio": 0.3, "p99_ms": 50.0, "cpu_ms_per_request": 0.61},
            "latency_split": {"p99_ms": 250.0},
        }
    )
    assert rows["ingest, production layout: ratio hub/bare endpoint"].met is True
    assert rows["ingest, production layout: p99 latency"].met is True
    assert rows["whole-stack CPU per accepted request, production layout"].met is False
    assert rows["POST -> recorded p99 at 1,000 req/s, production layout"].met is True


def test_the_production_layout_runs_the_same_benchmarks_split() -> None:
    for name, module in (
        ("ingest_split", "benchmarks.ingest"),
        ("latency_split", "benchmarks.latency"),
    ):
        step = STEPS[name]
        assert (step.module, step.arguments, step.per_broker) == (
            module,
            ("--layout", "split"),
            True,
        )
