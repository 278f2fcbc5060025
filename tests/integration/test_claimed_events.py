"""Each event is applied once on PostgreSQL, however often a batch holds it or a replay
brings it back: its id is claimed in ``processed_events`` with the batch."""

import pytest
from msgspec.structs import replace

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


async def test_each_claimed_row_holds_its_own_events_id_type_partition_and_offset(
    own_store: OwnStore,
) -> None:
    # The batch travels packed, a parameter a column: each row must get back its own
    # values, whatever the batch's order (the claim sorts it by event id).
    events = [
        replace(event, partition=partition, offset=offset)
        for event, (partition, offset) in zip(
            registrations(3, offset=0), [(2, 9_000_000_001), (0, 7), (1, 0)], strict=True
        )
    ]
    expected = {
        (e.envelope.event_id, "RegistrationSubmitted", e.partition, e.offset, "recorded")
        for e in events
    }

    await own_store.recorder().apply(events)

    rows = await own_store.admin.fetch(
        "SELECT event_id, event_type, kafka_partition, kafka_offset, outcome FROM processed_events"
    )
    assert {tuple(row) for row in rows} == expected
