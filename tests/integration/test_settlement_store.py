"""Business dates, closed days and the internal check, on real PostgreSQL."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.ports import NewRequest, SettlementFacts
from hub.reconciliation.internal import check_day
from hub.settlement.book import SettlementBook
from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger
from hub.store.tables import partner_requests

pytestmark = pytest.mark.integration
DAY = date(2020, 5, 5)
"""Long past: no other test of the session dates anything on it."""


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def _payment(partner: str, reference: str, day: date, amount: int = 16_800) -> NewRequest:
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
    return NewRequest(
        partner_id=partner,
        kind="payment",
        reference=reference,
        request_hash="0" * 64,
        event_id=uuid.uuid4(),
        hub_reference=f"PAY-{reference}",
        member_key="5171044508900001",
        event_json="{}",
        received_at=at,
        settlement=SettlementFacts(
            business_date=day, amount=amount, months=1, paid_at=at, jkk=10_000, jkm=6_800, jht=0
        ),
    )


async def _accept(ledger: SqlRequestLedger, request: NewRequest) -> None:
    await ledger.claim(request)
    await ledger.mark_accepted(request.event_id, request.received_at)
    await ledger.flush()  # acknowledgements are written after the answer


async def test_closing_freezes_the_days_totals_and_closing_again_changes_nothing(
    engine: AsyncEngine,
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger, book = SqlRequestLedger(engine), SettlementBook(engine)
    await _accept(ledger, _payment(partner, "A", DAY))
    await _accept(ledger, _payment(partner, "B", DAY, 50_400))

    first = await book.close(partner, DAY, "finance", datetime.now(UTC))
    await _accept(ledger, _payment(partner, "LATE", DAY))
    again = await book.close(partner, DAY, "someone", datetime.now(UTC))

    assert first.newly_closed and not again.newly_closed
    assert again.closed_by == "finance"
    assert (again.totals.payments, again.totals.payments_amount) == (2, 67_200)
    assert again.totals.programmes["JKM"] == {"payments": 13_600, "reversed": 0, "net": 13_600}
    assert (await book.totals(partner, DAY)).payments_amount == 67_200
    assert await ledger.is_closed(partner, DAY)
    assert not await ledger.is_closed(partner, DAY + timedelta(days=1))


async def test_a_payment_for_a_closed_day_is_stored_on_the_next_open_day_flagged(
    engine: AsyncEngine,
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger, book = SqlRequestLedger(engine), SettlementBook(engine)
    for day in (DAY, DAY + timedelta(days=1)):
        await book.close(partner, day, "finance", datetime.now(UTC))

    claimed = await ledger.claim(_payment(partner, "LATE", DAY))
    on_time = await ledger.claim(_payment(partner, "OTHER", DAY + timedelta(days=5)))

    assert (claimed.business_date, claimed.after_close) == (DAY + timedelta(days=2), True)
    assert (on_time.business_date, on_time.after_close) == (DAY + timedelta(days=5), False)
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(partner_requests.c.business_date, partner_requests.c.after_close).where(
                    partner_requests.c.partner_id == partner,
                    partner_requests.c.reference == "LATE",
                )
            )
        ).one()
    assert tuple(stored) == (DAY + timedelta(days=2), True)


async def test_the_internal_check_reports_what_was_accepted_but_never_recorded(
    engine: AsyncEngine,
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger = SqlRequestLedger(engine)
    stuck, recorded = _payment(partner, "STUCK", DAY), _payment(partner, "NO-ROW", DAY)
    await _accept(ledger, stuck)
    await _accept(ledger, recorded)
    async with engine.begin() as conn:
        await conn.execute(
            partner_requests.update()
            .where(partner_requests.c.event_id == recorded.event_id)
            .values(status="recorded")
        )

    report = await check_day(engine, DAY)
    mine = {(f.check, f.reference) for f in report.findings if f.partner_id == partner}

    assert mine == {
        ("accepted_never_recorded", "STUCK"),
        ("event_not_processed", "NO-ROW"),
        ("payment_without_contribution", "NO-ROW"),
    }
    assert not report.clean
