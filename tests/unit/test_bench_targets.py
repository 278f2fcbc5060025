"""`make bench`'s table: each layout's figures are judged on their own rows, by fixed bounds."""

from benchmarks._report import Row
from benchmarks.run import STEPS, broker_figures, table_rows


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


def test_figures_of_once_run_steps_show_under_both_brokers_but_a_brokers_own_do_not() -> None:
    measured = {
        "machine": {"floor": {"pipeline_ok_per_s": 3_705.0, "pipeline_cpu_ms_stack": 0.380}},
        "auto": {"pos_upload": {"seconds": 16.34}},
        "kafka": {"drain": {"events_per_s": 14_755.0}},
        "tansu": {"drain": {"events_per_s": 16_132.0}},
    }
    kafka = _rows(broker_figures(measured, "kafka"))
    tansu = _rows(broker_figures(measured, "tansu"))
    for rows in (kafka, tansu):
        assert rows["machine floor: claim + Kafka ack + 202 req/s"].value == "3,705/s"
        assert (
            rows["machine floor: claim + Kafka ack + 202, whole-stack CPU a request"].value
            == "0.38 ms"
        )
        assert rows["pos upload, 100,000 rows"].value == "16.3 s"
    assert kafka["drain: events/s"].value == "14,755/s"
    assert tansu["drain: events/s"].value == "16,132/s"
    assert kafka["machine floor: claim + Kafka ack + 202 p99"].value == "not measured"


def test_make_bench_measures_the_machine_floor_once_before_the_hub() -> None:
    assert next(iter(STEPS)) == "floor"
    assert (STEPS["floor"].module, STEPS["floor"].per_broker) == ("benchmarks.floor", False)
