"""Business dates, closed days and the internal check, on real PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.reconciliation.internal import check_day
from hub.settlement.book import SettlementBook
from hub.store.inbox import SqlRequestLedger
from hub.store.tables import partner_requests, settlement_days
from tests.support.inbox import accept, payment_request

pytestmark = pytest.mark.integration
DAY = date(2020, 5, 5)
"""Long past: no other test of the session dates anything on it."""


async def test_closing_freezes_the_days_totals_and_closing_again_changes_nothing(
    engine: AsyncEngine,
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger, book = SqlRequestLedger(engine), SettlementBook(engine)
    await accept(ledger, payment_request(partner, "A", DAY))
    await accept(ledger, payment_request(partner, "B", DAY, 50_400))

    first = await book.close(partner, DAY, "finance", datetime.now(UTC))
    await accept(ledger, payment_request(partner, "LATE", DAY))
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

    claimed = await ledger.claim(payment_request(partner, "LATE", DAY))
    on_time = await ledger.claim(payment_request(partner, "OTHER", DAY + timedelta(days=5)))

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


async def test_late_and_on_time_payments_claimed_together_get_their_own_days_in_order(
    engine: AsyncEngine,
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger = SqlRequestLedger(engine)
    await SettlementBook(engine).close(partner, DAY, "finance", datetime.now(UTC))
    later = DAY + timedelta(days=3)

    claims = await ledger.claim_many(
        [
            payment_request(partner, "ON-TIME-1", later),
            payment_request(partner, "LATE", DAY),
            payment_request(partner, "ON-TIME-2", later),
        ]
    )

    assert [(c.reference, c.business_date, c.after_close) for c in claims] == [
        ("ON-TIME-1", later, False),
        ("LATE", DAY + timedelta(days=1), True),
        ("ON-TIME-2", later, False),
    ]


async def test_a_payment_claimed_while_its_day_is_being_closed_lands_on_the_next_open_day(
    engine: AsyncEngine,
) -> None:
    """The claim waits for the close's lock, then sees the day closed: never dated on it."""
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger = SqlRequestLedger(engine)
    async with engine.connect() as closing:
        await closing.begin()
        # What ``hub settle close`` holds until it commits.
        await closing.execute(sa.text("LOCK TABLE partner_requests IN SHARE MODE"))
        await closing.execute(
            settlement_days.insert().values(
                partner_id=partner,
                business_date=DAY,
                closed_at=datetime.now(UTC),
                closed_by="finance",
                payments=0,
                payments_amount=0,
                reversals=0,
                reversals_amount=0,
                totals_json="{}",
            )
        )
        claim = asyncio.create_task(ledger.claim(payment_request(partner, "RACING", DAY)))
        await _until_a_claim_waits_for_a_lock(engine)
        assert not claim.done(), "the claim went ahead of the close's lock"
        await closing.commit()
    claimed = await claim

    assert (claimed.business_date, claimed.after_close) == (DAY + timedelta(days=1), True)
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(partner_requests.c.business_date).where(
                partner_requests.c.partner_id == partner
            )
        )
    assert stored == DAY + timedelta(days=1)


async def _until_a_claim_waits_for_a_lock(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for _ in range(500):
            # Each look in its own transaction: PostgreSQL keeps the first snapshot of
            # pg_stat_activity until the transaction ends, so polling in one transaction
            # would never see a claim that starts waiting after the first look.
            async with conn.begin():
                waiting = await conn.scalar(
                    sa.text(
                        # The claim statement's first words (the activity's text is cut at 1 kB).
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database() AND query LIKE 'WITH v AS (SELECT%'"
                    )
                )
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("no claim came to wait for the close's lock within 5 s")


async def test_a_payment_in_doubt_when_its_day_closes_counts_on_the_next_open_day_once_acked(
    engine: AsyncEngine,
) -> None:
    """A payment answered "try again" (the broker did not acknowledge in time) is pending
    when its day closes; then the partner retries it, or the broker delivers it late, and
    it is acknowledged. The closed day's statement must still add up to its totals."""
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger, book = SqlRequestLedger(engine), SettlementBook(engine)
    await accept(ledger, payment_request(partner, "ON-TIME", DAY))
    in_doubt = payment_request(partner, "IN-DOUBT", DAY)
    await ledger.claim(in_doubt)
    await book.close(partner, DAY + timedelta(days=1), "finance", datetime.now(UTC))

    closed = await book.close(partner, DAY, "finance", datetime.now(UTC))
    await ledger.mark_accepted(in_doubt.event_id, datetime.now(UTC))
    await ledger.flush()

    assert (closed.totals.payments, closed.totals.payments_amount) == (1, 16_800)
    day_lines = [line async for line in book.lines(partner, DAY)]
    assert [line.reference for line in day_lines] == ["ON-TIME"]
    # Dated as a payment claimed after the close: the next open day (the 7th), flagged.
    later = [line async for line in book.lines(partner, DAY + timedelta(days=2))]
    assert [(line.reference, line.after_close) for line in later] == [("IN-DOUBT", True)]


async def test_the_internal_check_reports_what_was_accepted_but_never_recorded(
    engine: AsyncEngine,
) -> None:
    partner = f"p-{uuid.uuid4().hex[:8]}"
    ledger = SqlRequestLedger(engine)
    stuck, recorded = (
        payment_request(partner, "STUCK", DAY),
        payment_request(partner, "NO-ROW", DAY),
    )
    await accept(ledger, stuck)
    await accept(ledger, recorded)
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
