"""A recorded batch is freed when its transaction ends, not by the garbage collector.

The core consumer holds a batch of thousands of events for the length of its
transaction. A statement built per batch around an array-typed parameter formed a
reference cycle (the parameter and its type's comparator) that held the batch's NIKs,
and the payments' lookup held its (partner, reference) pairs the same way, until the
collector's next young collection: with collections rare, as ``hub consume`` runs them,
a million events left 72 MiB behind (docs/performance.md).
"""

import gc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hub.store.recording import IncomingEvent
from schemas.events import ContributionPaid, EventEnvelope
from tests.integration.conftest import OwnStore
from tests.integration.test_recording_plans import registrations


def payments(niks: list[str], offset: int) -> list[IncomingEvent]:
    now = datetime.now(UTC)
    return [
        IncomingEvent(
            EventEnvelope(
                event_id=uuid.uuid4(),
                event_type="ContributionPaid",
                channel="hub-api",
                partner_id="demo",
                partner_ref=f"GARBAGE-PAY-{offset + i}",
                occurred_at=now,
                received_at=now,
                member_key=nik,
                payload=ContributionPaid(nik=nik, months=1, amount=16_800, paid_at=now),
            ),
            partition=0,
            offset=offset + i,
        )
        for i, nik in enumerate(niks)
    ]


@pytest.fixture
def garbage_kept() -> Iterator[list[object]]:
    """What the collector finds unreachable during the test, kept for it to look at."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def holding(garbage: list[object], values: set[object]) -> list[object]:
    """The unreachable containers that hold any of ``values``."""
    return [
        o
        for o in garbage
        if isinstance(o, list | tuple | dict) and any(v in values for v in list(o))
    ]


async def test_a_recorded_batch_leaves_no_cycle_holding_its_niks_or_references(
    own_store: OwnStore, garbage_kept: list[object]
) -> None:
    recorder = own_store.recorder()
    # The first batches compile and cache their statements: what that leaves is not theirs.
    warm = registrations(3, offset=0)
    await recorder.apply(warm)
    await recorder.apply(payments([e.envelope.member_key for e in warm], offset=10))
    gc.collect()
    garbage_kept.clear()
    batch = registrations(3, offset=20)
    niks = [e.envelope.member_key for e in batch]

    recorded = await recorder.apply(batch)
    await recorder.apply(payments(niks, offset=30))
    gc.collect()

    assert recorded.recorded == 3
    references = {("demo", f"GARBAGE-PAY-{30 + i}") for i in range(3)}
    assert holding(garbage_kept, set(niks) | references) == []
