"""Each event is applied once on PostgreSQL, however often a batch holds it or a replay
brings it back: its id is claimed in ``processed_events`` with the batch."""

import pytest

from hub.store.recording import BatchResult
from tests.integration.conftest import OwnStore
from tests.integration.test_recording_plans import registrations

pytestmark = pytest.mark.integration


async def test_a_batch_mixing_replayed_new_and_doubled_events_applies_each_new_one_once(
    own_store: OwnStore,
) -> None:
    recorder = own_store.recorder()
    a, b, c, d = registrations(4, offset=0)

    first = await recorder.apply([a, b])
    # A and B again (a replayed partition), C twice in the batch, D once.
    second = await recorder.apply([a, c, b, c, d])
    third = await recorder.apply([d, c])

    assert first == BatchResult(recorded=2, rejected=0, duplicates=0)
    assert second == BatchResult(recorded=2, rejected=0, duplicates=3)
    assert third == BatchResult(recorded=0, rejected=0, duplicates=2)
    assert await own_store.admin.fetchval("SELECT count(*) FROM members") == 4
    assert await own_store.admin.fetchval("SELECT count(*) FROM processed_events") == 4
