"""The garbage collector's pauses: kept short once a process is up, and measured.

CPython's cyclic collector stops the event loop while it runs, and a full (generation 2)
collection walks every tracked object: the modules, FastAPI's routes, SQLAlchemy's and
pydantic's machinery, all made at start-up and alive until exit. Under ingest load that
was a 137 ms pause about once a second, which every request in flight waited out
(README, Benchmarks). ``settle_heap`` moves what start-up made out of the collector's
sight (``gc.freeze``); later objects are still collected as before.
"""

import gc
import time
from typing import Any

from hub.observability.metrics import GC_PAUSE_SECONDS

_started_at: list[float] = [0.0]


def settle_heap() -> None:
    """Collect what start-up left behind, then freeze the survivors: call once, when ready."""
    gc.collect()
    gc.freeze()


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
