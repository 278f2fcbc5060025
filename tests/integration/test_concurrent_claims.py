"""One request claimed at the same instant by two API processes: one row, one answer.

A partner whose first try timed out retries at once, and a load balancer may hand the
retry to another API process while the first is still claiming. Both claims carry the
same reference and hence the same event id (``event_id_for``); whichever commits first
holds the reference, and the other must answer from it, never fail.
"""

import asyncio
import uuid
from datetime import date

import pytest
from msgspec.structs import replace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.model import event_id_for
from hub.store.inbox import SqlRequestLedger
from tests.support.inbox import payment_request

pytestmark = pytest.mark.integration

PARTNER = "twin-claims"


async def test_twins_claimed_at_once_in_two_processes_share_one_row_and_one_answer(
    engines: list[AsyncEngine],
) -> None:
    ledgers = [SqlRequestLedger(engine) for engine in engines]
    references = [f"TWIN-{uuid.uuid4().hex[:12]}" for _ in range(400)]
    for reference in references:
        request = payment_request(PARTNER, reference, date(2026, 3, 10))
        twin = replace(request, event_id=event_id_for(PARTNER, "payment", reference))
        # Each process gets the request twice more, as a partner's quick retries would.
        claims = await asyncio.gather(*(ledger.claim(twin) for ledger in ledgers * 3))
        assert {c.event_id for c in claims} == {twin.event_id}, reference
        assert {c.status for c in claims} == {"pending"}, reference
    async with engines[0].connect() as conn:
        rows = await conn.scalar(
            text("SELECT count(*) FROM partner_requests WHERE reference = ANY(:refs)"),
            {"refs": references},
        )
    assert rows == len(references)
