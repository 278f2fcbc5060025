"""The laptop default (SQLite): the core consumer's unit of work on a batch of several events.

PostgreSQL writes a batch's outcomes with one ``unnest`` statement; SQLite with an
executemany, which must not carry an expanding parameter (it crashed the consumer on
every batch of two or more, so ``make run`` recorded nothing after the first).
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import coverage_rules, schedule_from
from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.migrations import upgrade_to_head_async
from hub.store.recording import IncomingEvent, RecordingService
from hub.store.tables import partner_requests
from tests.unit.fakes import envelope, registration_payload


@pytest.fixture
async def laptop_store(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade_to_head_async(url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def test_a_batch_of_three_registrations_is_recorded_with_kpjs_on_sqlite(
    laptop_store: AsyncEngine,
) -> None:
    # Three women born 5 August 1990 in Denpasar: serial numbers 0001 to 0003.
    events = [
        envelope(registration_payload(f"517104450890000{i}"), partner_ref=f"REG-{i}")
        for i in (1, 2, 3)
    ]
    now = datetime.now(UTC)
    async with laptop_store.begin() as conn:
        await conn.execute(
            partner_requests.insert(),
            [
                {
                    "partner_id": e.partner_id,
                    "kind": "registration",
                    "reference": e.partner_ref,
                    "request_hash": "h",
                    "event_id": e.event_id,
                    "hub_reference": f"REG-{i}",
                    "member_key": e.member_key,
                    "status": "accepted",
                    "event_json": e.model_dump_json(),
                    "created_at": now,
                    "updated_at": now,
                }
                for i, e in enumerate(events)
            ],
        )
    settings = load_settings()
    recorder = RecordingService(laptop_store, schedule_from(settings), coverage_rules(settings))
    assert not recorder.takes_concurrent_batches

    result = await recorder.apply([IncomingEvent(e, 0, i) for i, e in enumerate(events)])

    assert (result.recorded, result.rejected, result.duplicates) == (3, 0, 0)
    async with laptop_store.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(partner_requests.c.status, partner_requests.c.kpj).order_by(
                    partner_requests.c.reference
                )
            )
        ).all()
    assert [status for status, _ in rows] == ["recorded"] * 3
    assert sorted(kpj for _, kpj in rows) == ["00000000018", "00000000026", "00000000034"]
