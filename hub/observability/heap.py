"""The garbage collector's pauses: kept short once a process is up, and measured.

CPython's cyclic collector stops the event loop while it runs, and a full (generation 2)
collection walks every tracked object: the modules, FastAPI's routes, SQLAlchemy's and
pydantic's machinery, all made at start-up and alive until exit. Under ingest load that
was a 137 ms pause about once a second, which every request in flight waited out
(README, Benchmarks). ``settle_heap`` moves what start-up made out of the collector's
sight (``gc.freeze``); later objects are still collected, as often as ``gc_thresholds``
says. With CPython's (700, 10, 10), the core consumer's batches (thousands of events, held
for the length of a transaction) were promoted to the oldest generation and walked by
full collections, 22 in a 15 s drain and up to 173 ms each (README, Benchmarks), only to
be freed moments later.
"""

import gc
import time
from typing import Any

from hub.observability.metrics import GC_PAUSE_SECONDS

_started_at: list[float] = [0.0]


def settle_heap(thresholds: tuple[int, int, int] | None = None) -> None:
    """Collect what start-up left behind, then freeze the survivors: call once, when ready.

    ``thresholds`` (``gc_thresholds``), if given, then set how often the collector runs.
    """
    gc.collect()
    gc.freeze()
    if thresholds is not None:
        gc.set_threshold(*thresholds)


def _observe(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started_at[0] = time.perf_counter()
    else:
        GC_PAUSE_SECONDS.labels(str(info["generation"])).observe(
            time.perf_counter() - _started_at[0]
        )


def measure_gc_pauses() -> None:
    """Time every collection into ``hub_gc_pause_seconds`` (once per process)."""
    if _observe not in gc.callbacks:
        gc.callbacks.append(_observe)
