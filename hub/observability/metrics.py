"""The hub's Prometheus metrics, named and labelled by Prometheus' conventions.

Every process registers the same metrics in prometheus-client's default registry and
serves them at ``GET /metrics`` (``hub run``, ``hub api``, ``hub consume --metrics-port``).
Counters and histograms count what this process did; the gauges that describe shared
state (consumer lag, oldest unrecorded request, callbacks) are refreshed from the broker
and the store by every process, so any one of them shows the whole picture.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# ``*_created`` series double the output and no dashboard or alert here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "hub_requests_total",
    "Partner requests handled by intake, by channel, operation and outcome",
    ["channel", "operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "hub_request_duration_seconds",
    "Time intake took to answer a partner request",
    ["channel", "operation"],
    buckets=_LATENCY_BUCKETS,
)
UNAVAILABLE = Counter(
    "hub_unavailable_responses_total",
    "Requests answered 'temporarily unavailable, retry' (HTTP 503 or the channel's own code)",
    ["channel", "operation"],
)
BROKER_ACK_SECONDS = Histogram(
    "hub_broker_ack_seconds",
    "Time from publishing a member event to the broker's acknowledgement (acks=all)",
    buckets=_LATENCY_BUCKETS,
)
BROKER_ACK_FAILURES = Counter(
    "hub_broker_ack_failures_total",
    "Member events the broker did not acknowledge within kafka_ack_timeout_s",
)
EVENTS_APPLIED = Counter(
    "hub_events_applied_total",
    "Member events the core consumer finished, by outcome",
    ["outcome"],
)
for _outcome in ("recorded", "rejected", "duplicate", "dead_lettered"):
    EVENTS_APPLIED.labels(_outcome)
BATCH_APPLY_SECONDS = Histogram(
    "hub_batch_apply_seconds",
    "Time the core consumer took to apply one batch in the store",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CONSUMER_LAG = Gauge(
    "hub_consumer_lag",
    "Messages not yet consumed per partition: the broker's end offset minus the core "
    "consumer group's committed offset (refreshed every 10 s)",
    ["topic", "partition"],
)
LAG_REFRESHED = Gauge(
    "hub_consumer_lag_refreshed_timestamp_seconds",
    "When consumer lag was last read from the broker (unix time)",
)
OLDEST_UNRECORDED_SECONDS = Gauge(
    "hub_oldest_unrecorded_request_age_seconds",
    "Age of the oldest request acknowledged to a partner but not yet recorded or rejected",
)
UNRECORDED_REQUESTS = Gauge(
    "hub_unrecorded_requests",
    "Requests acknowledged to partners but not yet recorded or rejected",
)
REDRIVES = Counter(
    "hub_redrives_total",
    "Accepted-but-unrecorded requests whose stored event was published again",
    ["trigger"],
)
for _trigger in ("loop", "retry", "operator"):
    REDRIVES.labels(_trigger)
CALLBACKS = Gauge(
    "hub_callbacks",
    "Partner callbacks in the outbox, by status (pending, delivered, failed)",
    ["status"],
)
OLDEST_UNDELIVERED_CALLBACK_SECONDS = Gauge(
    "hub_oldest_undelivered_callback_age_seconds",
    "Age of the oldest partner callback still pending delivery",
)
CALLBACK_ATTEMPTS = Counter(
    "hub_callback_attempts_total",
    "Callback delivery attempts, by outcome (delivered, retry, failed)",
    ["outcome"],
)
DEAD_LETTER_REPLAYS = Counter(
    "hub_dead_letter_replays_total",
    "Dead letters an operator published again to the member-events topic",
)
OPERATOR_ACTIONS = Counter(
    "hub_operator_actions_total",
    "Operator actions recorded in the audit table, by action",
    ["action"],
)
GC_PAUSE_SECONDS = Histogram(
    "hub_gc_pause_seconds",
    "Time the event loop stood still for a garbage collection, by generation (2: full)",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
)
for _generation in ("0", "1", "2"):
    GC_PAUSE_SECONDS.labels(_generation)


def count_redrive(trigger: str = "loop", n: int = 1) -> None:
    """More re-drives: ``loop`` (the inbox re-drive loop), ``retry`` (a partner's retry of an
    old accepted request), ``operator`` (``hub requests redrive``, the console)."""
    REDRIVES.labels(trigger).inc(n)


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe how long the block took, in seconds, whether or not it raised."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)
