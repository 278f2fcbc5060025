"""The inbox's batch status updates read each row once, whatever PostgreSQL's statistics say.

In a store that has run for a while nearly every request is recorded, so the statistics
say almost no row is pending, and a generic plan (kept after five runs of a prepared
statement) counts ten elements in any array parameter. The acknowledgements once joined
their rows to an ``unnest`` of the batch, and PostgreSQL planned that join as a nested
loop that read the whole ``unnest`` again for each row: 300 ms for 1,024
acknowledgements in the pos upload benchmark, growing with the square of the batch (a
store outage piles acknowledgements up). Each statement is run here first on a generic
plan, with ``auto_explain`` sending its analysed plan to the client, and rolled back;
then for real, and the rows it wrote are checked against known answers.
"""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from hub.reconciliation.store import _DAY_SQL
from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger, record_outcomes
from tests.conftest import PG_ADMIN_DSN
from tests.support.statements import most_rows_read, on_each_statement

pytestmark = pytest.mark.integration

BATCH = 2_000
"""Requests in the batch: a quadratic plan reads 4,000,000 rows, a linear one a few thousand."""

SETTLED = 20_000
"""Requests recorded before the statistics were taken."""

ACKED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def inbox_with_pending_requests(
    store: str,
) -> AsyncIterator[tuple[asyncpg.Connection, AsyncEngine, list[UUID]]]:
    """``SETTLED`` recorded requests, analysed; then ``BATCH`` pending ones, in id order."""
    admin = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{store}")
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    engine = create_engine(f"{url}/{store}")
    insert = (
        "INSERT INTO partner_requests (partner_id, kind, reference, request_hash, event_id,"
        " hub_reference, member_key, status, event_json, created_at, updated_at)"
        " SELECT 'plans', 'registration', 'REF-' || g, repeat('0', 64), gen_random_uuid(),"
        " 'HUB-' || g, lpad(g::text, 16, '0'), $1, '{}', $2, $2"
        " FROM generate_series($3::int, $4::int) AS g ORDER BY g"
    )
    try:
        await admin.execute("LOAD 'auto_explain'")
        await admin.execute("ALTER TABLE partner_requests SET (autovacuum_enabled = false)")
        await admin.execute(insert, "recorded", ACKED_AT - timedelta(days=1), 1, SETTLED)
        await admin.execute("ANALYZE partner_requests")
        await admin.execute(insert, "pending", ACKED_AT, SETTLED + 1, SETTLED + BATCH)
        pending = await admin.fetch(
            "SELECT event_id FROM partner_requests WHERE status = 'pending' ORDER BY id"
        )
        yield admin, engine, [row["event_id"] for row in pending]
    finally:
        await engine.dispose()
        await admin.close()


@contextmanager
def explained_first(
    engine: AsyncEngine, admin: asyncpg.Connection, marker: str
) -> Iterator[list[dict[str, Any]]]:
    """Each statement of ``engine`` that holds ``marker`` is first run on ``admin``
    under ``EXPLAIN ANALYZE`` with a generic plan, then rolled back; yields those plans."""
    plans: list[dict[str, Any]] = []

    def explain(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any, **__: Any
    ) -> None:
        if marker in statement:
            plans.append(await_only(_generic_plan(admin, statement, parameters)))

    with on_each_statement(engine, "before_cursor_execute", explain):
        yield plans


async def _generic_plan(
    admin: asyncpg.Connection, statement: str, parameters: tuple[Any, ...]
) -> dict[str, Any]:
    """``statement`` run with ``parameters`` on a generic plan and rolled back: that plan,
    as ``auto_explain`` reports it (``EXPLAIN`` would plan it with the values)."""
    reported: list[str] = []

    def on_notice(_conn: object, message: asyncpg.PostgresLogMessage) -> None:
        reported.append(str(message.message))

    admin.add_log_listener(on_notice)
    transaction = admin.transaction()
    await transaction.start()
    try:
        for setting in (
            "plan_cache_mode = force_generic_plan",
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_analyze = on",
            "auto_explain.log_format = json",
            "auto_explain.log_level = notice",
            "client_min_messages = notice",
        ):
            await admin.execute(f"SET LOCAL {setting}")
        await admin.execute(statement, *parameters)
    finally:
        await transaction.rollback()
        admin.remove_log_listener(on_notice)
    plans = [json.loads(m.split("plan:", 1)[1]) for m in reported if "plan:" in m]
    # Also reported: asyncpg's own look-ups of the parameters' types.
    (found,) = [p["Plan"] for p in plans if p["Query Text"] == statement]
    return dict(found)


async def test_a_batch_of_acknowledgements_reads_each_row_once_and_writes_each_its_own_time(
    empty_store: str,
) -> None:
    async with inbox_with_pending_requests(empty_store) as (admin, engine, event_ids):
        ledger = SqlRequestLedger(engine)
        for i, event_id in enumerate(event_ids):
            await ledger.mark_accepted(event_id, ACKED_AT + timedelta(milliseconds=i))

        with explained_first(engine, admin, "UPDATE partner_requests") as plans:
            await ledger.flush()

        assert plans, "no acknowledgement statement ran"
        busiest = max(most_rows_read(plan) for plan in plans)
        assert busiest[0] <= 2 * BATCH, f"a {busiest[1]} handled {busiest[0]:,} rows"
        rows = await admin.fetch(
            "SELECT status, updated_at FROM partner_requests WHERE status <> 'recorded' ORDER BY id"
        )
        assert [(r["status"], r["updated_at"]) for r in rows] == [
            ("accepted", ACKED_AT + timedelta(milliseconds=i)) for i in range(BATCH)
        ]


async def test_a_batch_of_outcomes_reads_each_row_once_and_writes_each_its_own(
    empty_store: str,
) -> None:
    recorded_at = ACKED_AT + timedelta(seconds=5)
    async with inbox_with_pending_requests(empty_store) as (admin, engine, event_ids):
        outcomes = [
            (event_id, "recorded", f"KPJ{i:08d}", None)
            if i % 3
            else (event_id, "rejected", None, f"reason {i}")
            for i, event_id in enumerate(event_ids)
        ]

        with explained_first(engine, admin, "UPDATE partner_requests") as plans:
            async with engine.begin() as conn:
                await record_outcomes(conn, outcomes, recorded_at)

        assert len(plans) == 1
        busiest = most_rows_read(plans[0])
        assert busiest[0] <= 2 * BATCH, f"a {busiest[1]} handled {busiest[0]:,} rows"
        rows = await admin.fetch(
            "SELECT status, kpj, reason, updated_at FROM partner_requests"
            " WHERE partner_id = 'plans' AND id > $1 ORDER BY id",
            SETTLED,
        )
        assert [tuple(r) for r in rows] == [
            ("recorded", f"KPJ{i:08d}", None, recorded_at)
            if i % 3
            else ("rejected", None, f"reason {i}", recorded_at)
            for i in range(BATCH)
        ]


def _indexes_used(plan: dict[str, Any]) -> set[str]:
    own = {plan["Index Name"]} if "Index Name" in plan else set()
    return own.union(*(_indexes_used(child) for child in plan.get("Plans", [])))


async def test_the_index_by_business_day_holds_only_dated_rows_and_serves_a_days_lookup(
    empty_store: str,
) -> None:
    async with inbox_with_pending_requests(empty_store) as (admin, _engine, _):
        # SETTLED + BATCH registrations (no business day); then 30 payments on three days.
        await admin.execute(
            "INSERT INTO partner_requests (partner_id, kind, reference, request_hash, event_id,"
            " hub_reference, member_key, status, event_json, created_at, updated_at,"
            " business_date, amount, months, paid_at)"
            " SELECT 'plans', 'payment', 'PAY-' || g, repeat('0', 64), gen_random_uuid(),"
            " 'HUB-P' || g, lpad(g::text, 16, '0'), 'recorded', '{}', $1, $1,"
            " DATE '2026-11-28' + g % 3, 16800, 1, $1 FROM generate_series(1, 30) AS g",
            ACKED_AT,
        )
        await admin.execute("VACUUM ANALYZE partner_requests")  # counts each index's entries
        entries = await admin.fetchval(
            "SELECT reltuples FROM pg_class WHERE relname = 'ix_partner_requests_dated'"
        )
        plan = await _generic_plan(admin, _DAY_SQL, ("plans", date(2026, 11, 29)))
        day = await admin.fetch(_DAY_SQL, "plans", date(2026, 11, 29))

    assert entries == 30  # the payments; none of the 22,000 registrations
    assert "ix_partner_requests_dated" in _indexes_used(plan)
    assert sorted(r["reference"] for r in day) == sorted(
        f"PAY-{g}" for g in range(1, 31) if g % 3 == 1
    )
