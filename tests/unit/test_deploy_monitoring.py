"""The shipped alerts and dashboard only name metrics the hub really exports."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY, generate_latest

import hub.observability.metrics  # noqa: F401 - registers the hub's metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\bhub_[a-z_]+\b")
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _exported() -> set[str]:
    names = set()
    for line in generate_latest(REGISTRY).decode().splitlines():
        if line.startswith("# TYPE hub_"):
            # A labelled metric has no sample until first used: its declared series count.
            _, _, base, kind = line.split()
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names.update(base + suffix for suffix in ["", *suffixes.get(kind, [])])
        elif line.startswith("hub_"):
            names.add(line.split("{")[0].split(" ")[0])
    return names


def test_every_alert_names_exported_metrics_and_has_a_runbook_section() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    exported = _exported()
    runbook = RUNBOOK.read_text().lower()
    names = set()
    for rule in rules:
        used = set(METRIC.findall(rule["expr"]))
        assert used and used <= exported, f"{rule['alert']} uses unknown {used - exported}"
        anchor = rule["annotations"]["runbook"].split("#")[1]
        assert f"## {anchor}" in runbook, f"no runbook section for {anchor}"
        names.add(rule["alert"])
    # The five: lag, oldest unrecorded, dead letters, failed callbacks, 503 rate.
    assert {
        "HubConsumerLagHigh",
        "HubOldestUnrecordedRequest",
        "HubDeadLetters",
        "HubCallbacksFailed",
        "HubUnavailableRate",
    } <= names


def test_every_dashboard_panel_queries_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "hub-dashboard.json").read_text())
    exported = _exported()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used = set(METRIC.findall(target["expr"]))
            assert used and used <= exported, f"{panel['title']}: unknown {used - exported}"
