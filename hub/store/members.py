"""Members and their contributions in SQL: load what a batch touches, save what it changed.

The recording service (``hub.store.recording``) loads through here, lets the pure rules
(``hub.membership.apply``) decide, and saves through here, all in one transaction.
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.membership.apply import Batch, ContributionRecord, MemberRecord
from hub.membership.kpj import kpj_for
from hub.store.bulk import copy_records, copy_rows, insert_rows, update_by_id
from hub.store.packed import SEPARATOR, joined
from hub.store.rows import record_of
from hub.store.tables import contributions, member_changes, member_history, members
from schemas.events import ContributionPaid, EventEnvelope, PaymentReversed

T = TypeVar("T")

# SQLite allows 32,766 bound parameters per statement; stay well below.
_IN_CHUNK = 900


def _postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


RowsAmong = Callable[[AsyncConnection, list[Any]], Awaitable[Sequence[Any]]]


def _among(base: sa.Select[Any], column: sa.Column[Any], *, packed: bool = False) -> RowsAmong:
    """The rows of ``base`` whose ``column`` is one of a list of values.

    PostgreSQL gets one array parameter (``= ANY($1)``): an IN list of hundreds of
    parameters makes the planner fall back, after a few executions of the prepared
    statement, to a generic plan that scans the whole table. That statement is built
    once, here: an array-typed parameter made per call forms a reference cycle with its
    type's comparator, and the cycle held the batch's values until the garbage
    collector's next young collection. SQLite gets IN lists, a chunk at a time.

    ``packed``: the values are sent as one text (``hub.store.packed``), for a column whose
    values never hold a comma, read for every event of a batch.
    """
    among: sa.ColumnElement[Any] = (
        sa.func.string_to_array(sa.bindparam("among", type_=sa.Text()), SEPARATOR)
        if packed
        else sa.bindparam("among", type_=postgresql.ARRAY(column.type))
    )
    on_postgres = base.where(column == sa.any_(among))

    async def rows(conn: AsyncConnection, values: list[Any]) -> Sequence[Any]:
        if not values:
            return []
        if _postgres(conn):
            sent = joined(values) if packed else values
            result: Sequence[Any] = (await conn.execute(on_postgres, {"among": sent})).all()
            return result
        found: list[Any] = []
        for chunk in _chunks(values):
            found += await conn.execute(base.where(column.in_(chunk)))
        return found

    return rows


# Sorted NIKs (sixteen digits each): concurrent consumers during a rebalance lock in one order.
_members_of = _among(
    sa.select(members).order_by(members.c.nik).with_for_update(), members.c.nik, packed=True
)
_contributions_of = _among(
    sa.select(contributions).order_by(contributions.c.id), contributions.c.member_id
)

# A list of (partner, reference) pairs, expanded when executed: the statement is built
# once, so no cycle of a statement made per call holds the batch's pairs.
_CONTRIBUTIONS_OF_REFERENCES = sa.select(contributions).where(
    sa.tuple_(contributions.c.partner_id, contributions.c.partner_ref).in_(
        sa.bindparam("references", expanding=True)
    )
)


async def load_members(conn: AsyncConnection, niks: set[str]) -> dict[str, MemberRecord]:
    loaded: dict[str, MemberRecord] = {}
    for row in await _members_of(conn, sorted(niks)):
        loaded[row.nik] = record_of(
            MemberRecord, row, programmes=tuple(row.programmes.split(",")), member_id=row.id
        )
    return loaded


async def load_contributions(
    conn: AsyncConnection,
    envelopes: Sequence[EventEnvelope],
    loaded_members: dict[str, MemberRecord],
    history: dict[str, list[ContributionRecord]],
) -> dict[tuple[str, str], ContributionRecord]:
    """Contributions a batch may touch: those its payments retry or its reversals name.

    For a member with a reversal in the batch, all their contributions, in the order
    they were applied, go into ``history``: the reversal replays the later ones.
    """
    wanted: set[tuple[str, str]] = set()
    reversing: set[int] = set()
    for envelope in envelopes:
        payload = envelope.payload
        if isinstance(payload, PaymentReversed):
            wanted.add((envelope.partner_id, payload.original_partner_ref))
            member = loaded_members.get(payload.nik)
            if member is not None and member.member_id is not None:
                reversing.add(member.member_id)
        elif isinstance(payload, ContributionPaid):
            wanted.add((envelope.partner_id, envelope.partner_ref))
    by_id = {m.member_id: m for m in loaded_members.values()}
    found: dict[tuple[str, str], ContributionRecord] = {}

    def keep(row: Any) -> None:
        member = by_id.get(row.member_id)
        if member is None or (row.partner_id, row.partner_ref) in found:
            return
        record = record_of(ContributionRecord, row, member=member, contribution_id=row.id)
        found[(row.partner_id, row.partner_ref)] = record
        if row.member_id in reversing:
            history.setdefault(member.nik, []).append(record)

    for row in await _contributions_of(conn, sorted(reversing)):
        keep(row)
    for chunk in _chunks(sorted(wanted - found.keys())):
        for row in await conn.execute(_CONTRIBUTIONS_OF_REFERENCES, {"references": chunk}):
            keep(row)
    return found


async def record_pending_changes(conn: AsyncConnection, batch: Batch, now: datetime) -> None:
    await insert_rows(
        conn,
        member_changes,
        [
            {
                "member_id": c.member.member_id,
                "event_id": c.envelope.event_id,
                "channel": c.envelope.channel,
                "partner_id": c.envelope.partner_id,
                "partner_ref": c.envelope.partner_ref,
                "field": c.field,
                "current_value": c.current_value,
                "proposed_value": c.proposed_value,
                "status": "pending",
                "created_at": now,
            }
            for c in batch.pending_changes
        ],
        skip_conflicts_on=("event_id", "field"),
    )


async def record_membership_changes(conn: AsyncConnection, batch: Batch, now: datetime) -> None:
    """Lapses and new periods as history rows, in the transaction of the event that saw them."""
    await copy_rows(
        conn,
        member_history,
        [
            {
                "member_id": c.member.member_id,
                "field": c.field,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "source": f"{c.note}; {c.envelope.channel} {c.envelope.partner_id} "
                f"{c.envelope.partner_ref}",
                "changed_at": now,
                "effective_on": c.effective_on,
            }
            for c in batch.membership_changes
        ],
    )


async def allocate_member_ids(
    conn: AsyncConnection, count: int, after: Sequence[int] = ()
) -> list[int]:
    """``count`` fresh member ids (never reused), above ``after`` on SQLite."""
    if _postgres(conn):
        # One row holding them all: a row each cost the consumer 0.9 µs a new member.
        taken = await conn.execute(
            sa.text("SELECT array_agg(nextval('members_id_seq')) FROM generate_series(1, :n)"),
            {"n": count},
        )
        return list(taken.scalar_one() or ())
    # SQLite has a single writer per database, so max(id) is stable in this transaction.
    top = (
        await conn.execute(sa.select(sa.func.coalesce(sa.func.max(members.c.id), 0)))
    ).scalar_one()
    top = max(top, *after) if after else top
    return list(range(top + 1, top + 1 + count))


async def insert_members(conn: AsyncConnection, new: list[MemberRecord], now: datetime) -> None:
    if not new:
        return
    ids = await allocate_member_ids(conn, len(new))
    # A member imported from the agency's core may hold a KPJ the hub would mint for
    # one of these numbers: skip such numbers (they are never reused anyway).
    kpjs = {i: kpj_for(i) for i in ids}
    while taken := await _taken_kpjs(conn, list(kpjs.values())):
        kept = [i for i in ids if kpjs[i] not in taken]
        ids = kept + await allocate_member_ids(conn, len(ids) - len(kept), after=ids)
        kpjs = {i: kpj_for(i) for i in ids}
    for member, member_id in zip(new, ids, strict=True):
        member.member_id = member_id
        member.kpj = kpjs[member_id]
    await copy_records(conn, members, MEMBER_COLUMNS, [member_values(m, now) for m in new])


async def _taken_kpjs(conn: AsyncConnection, kpjs: list[str]) -> set[str]:
    """Which of ``kpjs``, minted for new member numbers, a member already holds.

    Only a member the hub did not register can: each one it registered holds the KPJ of
    its own number, and numbers are never reused. Those members' KPJs have an index of
    their own (``ix_members_kpj_not_minted``), read for the range of ``kpjs`` (eleven
    digits each, so text order is number order): two bounds rather than an array of a
    batch's 2,000 KPJs, each probed in the index of every member's KPJ.
    """
    rows = await conn.execute(
        sa.select(members.c.kpj).where(
            _NOT_MINTED, members.c.kpj >= min(kpjs), members.c.kpj <= max(kpjs)
        )
    )
    wanted = set(kpjs)
    return {r.kpj for r in rows if r.kpj in wanted}


_NOT_MINTED = sa.text("members.source <> 'hub'")
"""The predicate of ``ix_members_kpj_not_minted``, written as the index is (a literal, not
a parameter), so that PostgreSQL and SQLite can tell the index answers the query."""


async def update_members(conn: AsyncConnection, batch: Batch, now: datetime) -> None:
    new = {id(m) for m in batch.new_members}
    changed = [m for m in batch.members.values() if m.dirty and id(m) not in new]
    if not changed:
        return
    await update_by_id(
        conn,
        members,
        [
            {
                "id": m.member_id,
                "paid_through": m.paid_through,
                "period_start": m.period_start,
                "lapsed_on": m.lapsed_on,
            }
            for m in changed
        ],
        updated_at=now,
    )


async def write_contributions(conn: AsyncConnection, batch: Batch, now: datetime) -> None:
    if batch.new_contributions:
        await copy_rows(
            conn, contributions, [_contribution_row(c, now) for c in batch.new_contributions]
        )
    # Reversed payments, and later payments whose months a reversal replayed.
    changed = [c for c in batch.contributions.values() if c.dirty and c.contribution_id is not None]
    await update_by_id(
        conn,
        contributions,
        [
            {
                "id": c.contribution_id,
                "status": c.status,
                "reversed_at": c.reversed_at,
                "covers_from": c.covers_from,
                "covers_through": c.covers_through,
                "previous_paid_through": c.previous_paid_through,
                "months": c.months,
                "arrears_months": c.arrears_months,
                "previous_period_start": c.previous_period_start,
            }
            for c in changed
        ],
    )


MEMBER_COLUMNS = (
    "id",
    "nik",
    "kpj",
    "full_name",
    "birth_date",
    "sex",
    "phone",
    "address",
    "occupation",
    "declared_income",
    "programmes",
    "paid_through",
    "registered_month",
    "registered_channel",
    "registered_partner",
    "registration_event_id",
    "created_at",
    "updated_at",
    "period_start",
    "lapsed_on",
    "source",
    "registered_agent",
)
"""The ``members`` columns, in the order ``member_values`` gives them."""
if set(MEMBER_COLUMNS) != set(members.c.keys()):
    raise TypeError("MEMBER_COLUMNS must name every column of members")


def member_values(m: MemberRecord, now: datetime, source: str = "hub") -> tuple[Any, ...]:
    """The ``members`` row of a member the hub registered, or one from ``source``, as a
    tuple in ``MEMBER_COLUMNS`` order (the consumer copies one a new member)."""
    return (
        m.member_id,
        m.nik,
        m.kpj,
        m.full_name,
        m.birth_date,
        m.sex,
        m.phone,
        m.address,
        m.occupation,
        m.declared_income,
        ",".join(m.programmes),
        m.paid_through,
        m.registered_month,
        m.registered_channel,
        m.registered_partner,
        m.registration_event_id,
        now,
        now,
        m.period_start,
        m.lapsed_on,
        source,
        m.registered_agent,
    )


def member_row(m: MemberRecord, now: datetime, source: str = "hub") -> dict[str, Any]:
    """``member_values`` by column name."""
    return dict(zip(MEMBER_COLUMNS, member_values(m, now, source), strict=True))


def _contribution_row(c: ContributionRecord, now: datetime) -> dict[str, Any]:
    return {
        "event_id": c.event_id,
        "member_id": c.member.member_id,
        "channel": c.channel,
        "partner_id": c.partner_id,
        "partner_ref": c.partner_ref,
        "months": c.months,
        "amount": c.amount,
        "paid_at": c.paid_at,
        "covers_from": c.covers_from,
        "covers_through": c.covers_through,
        "previous_paid_through": c.previous_paid_through,
        "status": c.status,
        "reversed_at": c.reversed_at,
        "created_at": now,
        "arrears_months": c.arrears_months,
        "previous_period_start": c.previous_period_start,
        "agent_id": c.agent_id,
    }


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]
