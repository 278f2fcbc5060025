"""Each event is applied once on PostgreSQL, however often a batch holds it or a replay
brings it back: its id is claimed in ``processed_events`` with the batch."""

import asyncpg
import pytest

from hub.bootstrap import coverage_rules, schedule_from
from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.recording import BatchResult, RecordingService
from tests.conftest import PG_ADMIN_DSN
from tests.integration.test_recording_plans import registrations

pytestmark = pytest.mark.integration


async def test_a_batch_mixing_replayed_new_and_doubled_events_applies_each_new_one_once(
    empty_store: str,
) -> None:
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    engine = create_engine(f"{url}/{empty_store}", pool_size=1)
    admin = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{empty_store}")
    try:
        settings = load_settings()
        recorder = RecordingService(engine, schedule_from(settings), coverage_rules(settings))
        a, b, c, d = registrations(4, offset=0)

        first = await recorder.apply([a, b])
        # A and B again (a replayed partition), C twice in the batch, D once.
        second = await recorder.apply([a, c, b, c, d])
        third = await recorder.apply([d, c])

        assert first == BatchResult(recorded=2, rejected=0, duplicates=0)
        assert second == BatchResult(recorded=2, rejected=0, duplicates=3)
        assert third == BatchResult(recorded=0, rejected=0, duplicates=2)
        assert await admin.fetchval("SELECT count(*) FROM members") == 4
        assert await admin.fetchval("SELECT count(*) FROM processed_events") == 4
    finally:
        await admin.close()
        await engine.dispose()
