"""``unrecorded_requests`` is exactly the inbox's accepted requests, whatever changes them.

The re-drive, the operators' stuck list and the unrecorded gauge read it, so a request
accepted and missing from it would never be published again: the no-loss promise rests
on it. Triggers keep it (migration 0013); these tests change the inbox the ways the hub
does and compare the table with known answers, on PostgreSQL and on the laptop's
SQLite. It exists so that the inbox's rows update in place (HOT): that is checked too,
and so is that a long list is still read by key (the trigger's deletes, the stuck list).
"""

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from msgspec.structs import replace
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.ops.actions import OperatorActions
from hub.ops.dead_letters import DeadLetterTopic
from hub.settings import Settings
from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger, record_outcomes, reject_unrecorded
from hub.store.migrations import upgrade_to_head_async
from hub.store.tables import partner_requests, unrecorded_requests
from hub.store.watch import aware, flow_state
from tests.conftest import PG_ADMIN_DSN
from tests.support.inbox import payment_request
from tests.support.republisher import MustNotPublish
from tests.support.statements import most_rows_read, on_each_statement
from tests.support.store import drop_database, fresh_database

pytestmark = pytest.mark.integration

DAY = date(2026, 12, 1)
CLAIMED = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
"""When ``payment_request`` says each request was received (and so claimed)."""


def at(seconds: int) -> datetime:
    return CLAIMED + timedelta(seconds=seconds)


@pytest.fixture(params=["postgresql", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A store of its own, migrated to head."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        await upgrade_to_head_async(url)
        engine = create_engine(url)
        yield engine
        await engine.dispose()
        return
    url, name = await fresh_database(PG_ADMIN_DSN, "hub_test_unrecorded")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(PG_ADMIN_DSN, name)


async def unrecorded(engine: AsyncEngine) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Each unrecorded request's reference: (since when accepted-or-leased, claimed at)."""
    r, u = partner_requests, unrecorded_requests
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(r.c.reference, u.c.updated_at, u.c.created_at).join(
                u, u.c.request_id == r.c.id
            )
        )
        return {row.reference: (aware(row.updated_at), aware(row.created_at)) for row in rows}


async def test_the_unrecorded_requests_are_the_accepted_ones_through_every_change(
    store: AsyncEngine,
) -> None:
    ledger = SqlRequestLedger(store)
    p1, p2, p3, p4 = (payment_request("bri", f"P{i}", DAY) for i in range(1, 5))

    await ledger.claim(p1)
    assert await unrecorded(store) == {}, "a claimed request is pending, not yet accepted"

    await ledger.mark_accepted(p1.event_id, at(1))
    await ledger.flush()
    assert await unrecorded(store) == {"P1": (at(1), CLAIMED)}

    # An acknowledgement held while the next claim batch is written rides with it.
    await ledger.claim(p2)
    await ledger.mark_accepted(p2.event_id, at(2))
    await ledger.claim(p3)
    await ledger.flush()
    assert await unrecorded(store) == {"P1": (at(1), CLAIMED), "P2": (at(2), CLAIMED)}

    # The same event acknowledged again later (republished): its time moves on.
    await ledger.mark_accepted(p1.event_id, at(5))
    await ledger.flush()
    assert (await unrecorded(store))["P1"] == (at(5), CLAIMED)

    # The re-drive leases what has waited since before at(3): P2 only.
    leased = await ledger.lease_unrecorded(at(3), at(10), limit=10)
    assert [u.reference for u in leased] == ["P2"]
    assert await unrecorded(store) == {"P1": (at(5), CLAIMED), "P2": (at(10), CLAIMED)}

    # The consumer records one; the other is rejected (dead-lettered).
    async with store.begin() as conn:
        await record_outcomes(conn, [(p1.event_id, "recorded", "KPJ1", None)], at(11))
        assert await reject_unrecorded(conn, p2.event_id, "dead-lettered", at(12)) is not None
    assert await unrecorded(store) == {}

    # P3 is recorded before its acknowledgement is written; the late acknowledgement
    # leaves it recorded, and so not unrecorded.
    async with store.begin() as conn:
        await record_outcomes(conn, [(p3.event_id, "recorded", "KPJ3", None)], at(13))
    await ledger.mark_accepted(p3.event_id, at(14))
    await ledger.flush()
    assert await unrecorded(store) == {}

    # An operator requeues the rejected P2: accepted again, from then.
    async with store.begin() as conn:
        await conn.execute(
            partner_requests.update()
            .where(partner_requests.c.reference == "P2")
            .values(status="accepted", reason=None, updated_at=at(20))
        )
    # A request written accepted at once (as the drain benchmark seeds the inbox).
    async with store.begin() as conn:
        await conn.execute(
            partner_requests.insert().values(
                partner_id="bri",
                kind="payment",
                reference="P4",
                request_hash="0" * 64,
                event_id=p4.event_id,
                hub_reference="PAY-P4",
                member_key=p4.member_key,
                status="accepted",
                event_json="{}",
                created_at=at(30),
                updated_at=at(31),
            )
        )
    assert await unrecorded(store) == {"P2": (at(20), CLAIMED), "P4": (at(31), at(30))}

    state = await flow_state(store)
    assert (state.unrecorded, state.oldest_unrecorded_at) == (2, CLAIMED)


async def updates_so_far(conn: AsyncConnection) -> tuple[int, int]:
    """Rows of ``partner_requests`` this transaction (and its backend since it last
    reported) updated, and how many of them in place."""
    row = (
        await conn.execute(
            sa.text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relname = 'partner_requests'"
            )
        )
    ).one()
    return int(row[0]), int(row[1])


BIG_EVENT = '{"payload": "' + "x" * 700 + '"}'
"""About the size of a payment event: the row, not its index entries, fills the page."""


async def test_the_inbox_rows_are_updated_in_place_and_no_index_stands_in_the_way(
    empty_store: str,
) -> None:
    """No index of ``partner_requests`` covers ``status`` or ``updated_at``, and so the
    acknowledgement and the consumer's outcome are HOT updates: no index is written."""
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    engine = create_engine(f"{url}/{empty_store}")
    try:
        async with engine.connect() as conn:
            indexes = (
                await conn.execute(
                    sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'partner_requests'")
                )
            ).scalars()
            assert [d for d in indexes if "status" in d or "updated_at" in d] == []

        ledger = SqlRequestLedger(engine)
        requests = [
            replace(payment_request("bri", f"H{i:03d}", DAY), event_json=BIG_EVENT)
            for i in range(200)
        ]
        await ledger.claim_many(requests)
        for request in requests:
            await ledger.mark_accepted(request.event_id, at(1))
        await ledger.flush()

        async with engine.begin() as conn:
            # This backend's counts not yet reported include the acknowledgements.
            before = await updates_so_far(conn)
            await record_outcomes(
                conn, [(r.event_id, "recorded", None, None) for r in requests], at(2)
            )
            after = await updates_so_far(conn)
        assert (after[0] - before[0], after[1] - before[1]) == (200, 200)
    finally:
        await engine.dispose()


WAITING = 20_000
"""Accepted requests waiting, as in a backlog the consumer is draining."""
OUTCOMES = 2_000
"""One consumer batch."""


async def test_a_batch_of_outcomes_leaves_the_list_by_key_however_long_the_backlog(
    empty_store: str,
) -> None:
    """The trigger deletes a batch's requests by probing the list's key, not by hashing the
    whole list for each batch (which made each batch's cost grow with the backlog)."""
    admin = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{empty_store}")
    reported: list[str] = []
    admin.add_log_listener(lambda _conn, message: reported.append(str(message.message)))
    try:
        await admin.execute(
            "INSERT INTO partner_requests (partner_id, kind, reference, request_hash, event_id,"
            " hub_reference, member_key, status, event_json, created_at, updated_at)"
            " SELECT 'bri', 'payment', 'R' || g, repeat('0', 64), gen_random_uuid(), 'H' || g,"
            " lpad(g::text, 16, '0'), 'accepted', '{}', $1, $1"
            " FROM generate_series(1, $2::int) AS g",
            CLAIMED,
            WAITING,
        )
        await admin.execute("ANALYZE")
        await admin.execute("LOAD 'auto_explain'")
        for setting in (
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_analyze = on",
            "auto_explain.log_nested_statements = on",
            "auto_explain.log_format = json",
            "auto_explain.log_level = notice",
            "client_min_messages = notice",
        ):
            await admin.execute(f"SET {setting}")

        await admin.execute(
            "UPDATE partner_requests SET status = 'recorded', updated_at = $1 WHERE id <= $2",
            at(60),
            OUTCOMES,
        )

        plans = [json.loads(m.split("plan:", 1)[1]) for m in reported if "plan:" in m]
        (delete,) = [
            p["Plan"] for p in plans if "DELETE FROM unrecorded_requests" in p["Query Text"]
        ]
        busiest = most_rows_read(delete)
        assert busiest[0] <= 2 * OUTCOMES, f"a {busiest[1]} handled {busiest[0]:,} rows"
        left = await admin.fetchval("SELECT count(*) FROM unrecorded_requests")
        assert left == WAITING - OUTCOMES
    finally:
        await admin.close()


STUCK_SHOWN = 50
"""A page of the operators' stuck list."""


async def test_the_stuck_list_reads_the_oldest_requests_by_their_age_however_long_the_backlog(
    empty_store: str, settings: Settings
) -> None:
    """Operators read the stuck list during a consumer outage, when the list is long: its
    oldest requests come from an index on their age (migration 0014), not from sorting
    every request that waits."""
    admin = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{empty_store}")
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    engine = create_engine(f"{url}/{empty_store}")
    try:
        # Request R<g> was accepted g seconds after CLAIMED: the oldest are R1, R2, ...
        await admin.execute(
            "INSERT INTO partner_requests (partner_id, kind, reference, request_hash, event_id,"
            " hub_reference, member_key, status, event_json, created_at, updated_at)"
            " SELECT 'bri', 'payment', 'R' || g, repeat('0', 64), gen_random_uuid(), 'H' || g,"
            " lpad(g::text, 16, '0'), 'accepted', '{}', $1::timestamptz + g * interval '1 second',"
            " $1::timestamptz + g * interval '1 second' FROM generate_series(1, $2::int) AS g",
            CLAIMED,
            WAITING,
        )
        await admin.execute("ANALYZE")
        actions = OperatorActions(
            engine,
            DeadLetterTopic(settings, settings.kafka_bootstrap_servers),
            MustNotPublish("listing stuck requests must not publish"),
            callback_give_up_after_s=86_400,
            clock=lambda: at(WAITING + 3_600),
        )
        ran: list[tuple[str, tuple[object, ...]]] = []
        with on_each_statement(
            engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, parameters, *_: ran.append((statement, parameters)),
        ):
            stuck = await actions.stuck(older_than_s=600, limit=STUCK_SHOWN)

        assert [s.reference for s in stuck] == [f"R{g}" for g in range(1, STUCK_SHOWN + 1)]
        assert stuck[0].age_s == WAITING + 3_600 - 1
        ((query, parameters),) = [r for r in ran if "unrecorded_requests" in r[0]]
        explained = await admin.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *parameters)
        busiest = most_rows_read(json.loads(explained)[0]["Plan"])
        assert busiest[0] <= 2 * STUCK_SHOWN, f"a {busiest[1]} handled {busiest[0]:,} rows"
    finally:
        await engine.dispose()
        await admin.close()
