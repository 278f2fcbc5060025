"""The inbox of partner requests, in SQL: claim, mark accepted, find, member terms.

The one owner of ``partner_requests``' state machine (pending -> accepted -> recorded
or rejected): the API's claims and acknowledgements, and the consumer's outcomes
(``record_outcomes``, ``reject_unrecorded``) at the end of this module.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
import orjson
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import wait_random

from hub.intake.ports import (
    ClaimedRequest,
    InboxEntry,
    MemberTerms,
    NewRequest,
    RequestKind,
    ReversalReference,
    UnrecordedRequest,
)
from hub.settlement.business_day import first_open_day
from hub.store.bulk import insert_rows
from hub.store.database import Autocommitted, autocommitted, driver_statement, fetch_on_driver
from hub.store.group_commit import GroupCommitter
from hub.store.outage import (
    LOCK_RACE_SQLSTATES,
    Retries,
    is_transient,
    reconnected,
    sqlstate,
    store_call,
)
from hub.store.packed import (
    UNIT_SEPARATOR,
    either,
    epoch_micros,
    joined,
    packed_or,
    split_text,
    timestamps,
    uuid_array,
    uuid_bytes,
)
from hub.store.rows import columns_of, record_of, span_of
from hub.store.tables import (
    members,
    partner_requests,
    reversal_references,
    settlement_days,
    unrecorded_requests,
)

log = logging.getLogger(__name__)

_CLAIM_COLUMNS = columns_of(ClaimedRequest, partner_requests)


def _worth_another_try(exc: BaseException) -> bool:
    """Lost a lock race (deadlock, serialization failure: the other transaction won), or the
    pooled connection turned out to be broken (the store restarted; the pool was invalidated
    and the next try gets a fresh connection). Either way the batch can simply run again:
    a claim is idempotent on its reference and an acknowledgement only moves forward."""
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or sqlstate(exc) in LOCK_RACE_SQLSTATES


_LOCK_RACES = Retries(_worth_another_try, tries=3, pause=wait_random(0.005, 0.05))
"""Three quick tries for a statement that lost a lock race or its connection, then a 503."""


CLAIMS_IN_FLIGHT = 1
"""Claim batches in flight at once for requests that come one at a time: while one
waits for PostgreSQL the next one fills. One rather than two makes fuller batches,
which cost the hub and PostgreSQL less a request: in five alternated ingest pairs
(2026-12-05, 16:04-16:15 UTC) 1,991 against 1,929 req/s on average, the whole stack
0.691 against 0.725 ms a request, PostgreSQL 0.155-0.160 against 0.169-0.200."""
FILE_CLAIMS_IN_FLIGHT = 2
"""... and for a batch file's rows (``claim_many``), whose batches are full anyway: two
keep PostgreSQL busy while the hub builds the next. With one, the production-layout
upload of 100,000 rows took 11.09 and 10.97 s against 10.10 and 10.52; again with two
batches of an upload in intake (2026-12-06), 10.36, 10.07 and 10.30 s against 9.64,
9.82 and 10.02."""
ACK_DELAY_S = 0.005
"""How often the writer looks for acknowledgements no claim batch carried, to write them
on their own (an idle hub: a few ms after the answer). While claim batches are queued or
under way it leaves them to the next batch: a busy hub then writes nearly none on their
own (79 statements of 1,253 acknowledgements in 39,742, against 844 of 17,109 when every
look wrote what it found)."""
_CLAIM_NAMES = tuple(c.name for c in _CLAIM_COLUMNS)


_BATCH_ARRAYS = {
    "partner_id": "varchar",
    "kind": "varchar",
    "reference": "varchar",
    "request_hash": "varchar",
    "event_id": "uuid",
    "hub_reference": "varchar",
    "member_key": "varchar",
    "event_json": "text",
    "agent_id": "varchar",
    "received_at": "timestamptz",
    "business_date": "date",
    "amount": "bigint",
    "months": "smallint",
    "paid_at": "timestamptz",
    "amount_jkk": "bigint",
    "amount_jkm": "bigint",
    "amount_jht": "bigint",
}
SETTLEMENT_COLUMNS = (
    "business_date",
    "amount",
    "months",
    "paid_at",
    "amount_jkk",
    "amount_jkm",
    "amount_jht",
)
"""What settlement reads of an accepted payment or reversal, set when it is claimed."""
_REQUEST_ARRAYS = tuple(name for name in _BATCH_ARRAYS if name not in SETTLEMENT_COLUMNS)
"""The claim's arrays that are a ``NewRequest``'s own fields, of the same names."""
_SETTLEMENT_FACTS = dict(
    zip(
        SETTLEMENT_COLUMNS,
        ("business_date", "amount", "months", "paid_at", "jkk", "jkm", "jht"),
        strict=True,
    )
)
"""The claim's arrays from a request's ``SettlementFacts``: column -> fact."""
_OFTEN_EMPTY = ("agent_id", *SETTLEMENT_COLUMNS)
"""Columns NULL in every row of most claim batches (registrations, partners without
agents). Such a column is sent as an empty array: ``unnest`` of several arrays pads a
shorter one with NULLs. asyncpg encodes an array element by element, with a Python-level
type check for each (0.24 µs a NULL); a batch file's 1,024 registrations sent eight
columns of NULLs, 2 ms of the API's CPU a batch."""
_ACK_IDS = uuid_array("ack_ids")
_ACK_ROWS = f"""
  UPDATE partner_requests r SET status = 'accepted', updated_at = GREATEST(r.updated_at,
    CAST((SELECT jsonb_object_agg(a.event_id, a.at) FROM unnest({_ACK_IDS},
      {either("ack_at", "timestamptz", timestamps("ack_at_packed"))}) AS a(event_id, at))
      ->> CAST(r.event_id AS text) AS timestamptz))
  WHERE r.id IN (
    SELECT id FROM partner_requests
    WHERE event_id = ANY({_ACK_IDS}) AND status IN ('pending', 'accepted')
    ORDER BY event_id FOR UPDATE)
"""  # noqa: S608 (only ``hub.store.packed``'s SQL goes in, never a value)
"""Only forward: pending -> accepted, or an accepted row republished. Rows are locked in
event id order, the order the consumer's status update locks them in too
(``record_outcomes``): the two never deadlock.

Each row's time is looked up by its event id in a JSON object that PostgreSQL builds
once per statement from the batch's arrays (an uncorrelated sub-select), rather than
by joining the rows to an ``unnest`` of the batch: the inbox's statistics say almost no
row is pending (nearly all are recorded), so PostgreSQL planned that join as a nested
loop that read the whole ``unnest`` again for every row, a cost that grows with the
square of the batch (300 ms for 1,024 acknowledgements).

Its ids and times are sent packed (``_ack_params``)."""


def _ack_params(acks: dict[UUID, datetime]) -> dict[str, Any]:
    """``_ACK_ROWS``' parameters: the ids as bytes, the times as microseconds."""
    ids = sorted(acks)
    ack_at, ack_at_packed = packed_or([acks[i] for i in ids], epoch_micros)
    return {"ack_ids": uuid_bytes(ids), "ack_at": ack_at, "ack_at_packed": ack_at_packed}


_INSERTED_ECHO = frozenset({"partner_id", "kind", "reference", "kpj"})
"""What the claim statement returns of a row it inserted: the key to match it with its
request, and the KPJ of a member already recorded, which the statement looked up."""


_SENT_PACKED: dict[str, Literal["bytes", "joined", "micros"]] = {
    "partner_id": "joined",
    "kind": "joined",
    "reference": "joined",
    "request_hash": "joined",
    "event_id": "bytes",
    "hub_reference": "joined",
    "member_key": "joined",
    "received_at": "micros",
}
"""How the claim sends its columns that go packed (``hub.store.packed``), for its SQL
(``_claim_array``) and its parameters (``_claim_params``) alike: the short texts joined
by the unit separator (the channels accept none that holds it), the event ids as bytes,
the times as microseconds. The rest go as arrays: the event JSON too, which joined cost
the hub as much to send (its length, not its count, is what costs) and PostgreSQL more."""


def _claim_array(name: str, kind: str) -> str:
    """SQL for one of the claim's columns, as ``_claim_params`` sends it."""
    packing = _SENT_PACKED.get(name)
    if packing == "bytes":
        return uuid_array(name)
    if packing == "joined":
        return either(name, kind, split_text(f"{name}_packed", UNIT_SEPARATOR))
    if packing == "micros":
        return either(name, kind, timestamps(f"{name}_packed"))
    return f"CAST(:{name} AS {kind}[])"


def _claim_batch_sql() -> str:
    arrays = ", ".join(_claim_array(name, kind) for name, kind in _BATCH_ARRAYS.items())
    claim_columns = [c.name for c in _CLAIM_COLUMNS]
    parts = [
        f"WITH v AS (SELECT * FROM unnest({arrays}) WITH ORDINALITY",  # noqa: S608
        f"AS v({', '.join(_BATCH_ARRAYS)}, n)),",
        f"acked AS ({_ACK_ROWS} RETURNING r.id),",
        "ins AS (INSERT INTO partner_requests (partner_id, kind, reference, request_hash,",
        "event_id, hub_reference, member_key, status, kpj, event_json, agent_id, created_at,",
        "updated_at,",
        f"after_close, {', '.join(SETTLEMENT_COLUMNS)})",
        "SELECT v.partner_id, v.kind, v.reference, v.request_hash, v.event_id, v.hub_reference,",
        "v.member_key, 'pending',",
        # A second registration of a recorded member answers with the first one's KPJ.
        "CASE WHEN v.kind = 'registration'",
        "THEN (SELECT m.kpj FROM members m WHERE m.nik = v.member_key) END,",
        "v.event_json, v.agent_id, v.received_at, v.received_at, false,",
        ", ".join(f"v.{name}" for name in SETTLEMENT_COLUMNS),
        # No conflict target: a twin claimed at the same instant by another transaction
        # collides on the event id (derived from the reference) as well as on the
        # reference, and only the target's unique index is skipped on conflict; any other
        # would raise. Both say the same: the reference is held (read back below).
        # A request dated on a closed business day is left out (rare): it is inserted
        # on its partner's next open day, in a transaction of its own.
        "FROM v WHERE NOT EXISTS (SELECT 1 FROM settlement_days s",
        "WHERE s.partner_id = v.partner_id AND s.business_date = v.business_date)",
        "ORDER BY v.n ON CONFLICT DO NOTHING RETURNING",
        ", ".join(claim_columns) + ")",
        "SELECT true AS inserted,",
        # A new row is what the batch sent (see ``_as_inserted``): its key and its KPJ
        # come back, not the rest again (its event JSON decoded, its times parsed).
        ", ".join(
            f"ins.{name}" if name in _INSERTED_ECHO else f"NULL AS {name}" for name in claim_columns
        )
        + ",",
        "false AS created_member FROM ins",
        # Retries and concurrent twins: the reference is already held.
        "UNION ALL SELECT false,",
        ", ".join(f"r.{name}" for name in claim_columns) + ",",
        "COALESCE(m.registration_event_id = r.event_id, false)",
        "FROM v JOIN partner_requests r ON r.partner_id = v.partner_id AND r.kind = v.kind",
        "AND r.reference = v.reference LEFT JOIN members m ON m.nik = r.member_key",
        "WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.partner_id = v.partner_id",
        "AND ins.kind = v.kind AND ins.reference = v.reference)",
    ]
    return " ".join(parts)


_CLAIM_BATCH = driver_statement(sa.text(_claim_batch_sql()))
"""One statement per claim batch on PostgreSQL: write the acknowledgements waiting to be
written, insert the new requests (with the KPJ of a member already recorded) except those
dated on a closed business day, and read back the ones already held.

It runs on its own, without BEGIN and COMMIT around it (one round trip a batch, not
three): it is atomic by itself. Its snapshot is taken after its lock on the inbox is
granted, so a day closed by ``hub settle close`` (which holds SHARE on the inbox until
it commits) is seen as closed by every claim that had to wait for it, and a close that
comes later waits for the statement and sees its rows."""


def _claimed_span() -> slice:
    span = span_of(ClaimedRequest, ("inserted", *_CLAIM_NAMES, "created_member"))
    assert span is not None, "the claim statement selects ClaimedRequest's columns"
    return span


_CLAIMED_AT = _claimed_span()
"""Where a row of the claim statement holds a ``ClaimedRequest``: after ``inserted``
(its first column), and before ``created_member`` (its last, at ``_CLAIMED_AT.stop``)."""
_KPJ_AT = _CLAIMED_AT.start + _CLAIM_NAMES.index("kpj")
"""Where that row holds the KPJ, for a request the statement inserted."""


_REVERSAL_NAMED = sa.text(
    "SELECT EXISTS (SELECT 1 FROM reversal_references WHERE partner_id = :partner"
    " AND payment_reference = :payment AND agent_id IS NOT DISTINCT FROM :agent)"
).bindparams(sa.bindparam("agent", type_=sa.String()))
"""Whether a reversal of this partner (and agent) named the payment, held or not."""


def _claimed(row: Any) -> ClaimedRequest:
    return record_of(ClaimedRequest, row)


def _as_inserted(request: NewRequest, kpj: str | None) -> ClaimedRequest:
    """The row the claim statement inserted for ``request``, as it stored it."""
    facts = request.settlement
    day = None if facts is None else facts.business_date
    at = request.received_at
    values: list[Any] = [getattr(request, name) for name in _ENTRY_FIELDS]
    # status, kpj, reason, event_json, created_at, business_date, after_close, updated_at,
    # agent_id: as the statement writes them (``_claim_batch_sql``).
    values += ("pending", kpj, None, request.event_json, at, day, False, at, request.agent_id)
    return ClaimedRequest(*values)


_ENTRY_FIELDS = InboxEntry.__struct_fields__


def _claim_params(ordered: list[NewRequest], acks: dict[UUID, datetime]) -> dict[str, Any]:
    """``_CLAIM_BATCH``'s parameters for ``ordered`` and the acknowledgements it writes."""
    params: dict[str, Any] = _ack_params(acks)
    for name in _REQUEST_ARRAYS:
        values = [getattr(r, name) for r in ordered]
        packing = _SENT_PACKED.get(name)
        if packing == "bytes":
            params[name] = uuid_bytes(values)
        elif packing is not None:
            pack = _unit_joined if packing == "joined" else epoch_micros
            params[name], params[f"{name}_packed"] = packed_or(values, pack)
        else:
            params[name] = values
    facts = [r.settlement for r in ordered]
    for name, fact in _SETTLEMENT_FACTS.items():
        params[name] = [None if f is None else getattr(f, fact) for f in facts]
    for name in _OFTEN_EMPTY:
        if not any(v is not None for v in params[name]):
            params[name] = []  # unnest pads it with NULLs to the batch's length
    return params


def _unit_joined(values: Sequence[str]) -> str:
    return joined(values, UNIT_SEPARATOR)


def _as_first_answered(claimed: ClaimedRequest, created_member: bool) -> ClaimedRequest:
    """A held request as its first answer saw it, so that every retry gets that answer.

    A registration's answer names a KPJ only if the member was recorded before it came
    in; once this very registration created the member, its row carries the new KPJ (for
    status calls), which its first answer did not have.
    """
    return msgspec.structs.replace(claimed, kpj=None) if created_member else claimed


_TERMS = sa.select(*columns_of(MemberTerms, members))


def _terms(row: Any) -> MemberTerms:
    return record_of(MemberTerms, row, programmes=tuple(row.programmes.split(",")))


class SqlRequestLedger:
    """``RequestLedger`` over the membership store's ``partner_requests`` table.

    Claims of concurrent requests are group-committed: on PostgreSQL one statement per
    batch, outside any transaction, inserts the new rows, looks up the KPJ of members
    already recorded, reads back the rows already held, and writes the acknowledgements
    waiting to be written. A row dated on a closed business day (rare) is left to a
    transaction that inserts it on the partner's next open day.

    Acknowledgements (``mark_accepted``) are not waited for: they ride with the next claim
    batch, or, when no batch is queued or under way, are written on their own within
    ``ACK_DELAY_S``. Until written, this
    ledger's own ``find`` and ``member_terms`` show the row as accepted. A process killed
    in that window leaves the row ``pending``; its event is on the broker all the same
    and the consumer records it (docs/reliability.md).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._claims: GroupCommitter[NewRequest, ClaimedRequest] = GroupCommitter(
            self._claim_batch, in_flight=CLAIMS_IN_FLIGHT, in_flight_many=FILE_CLAIMS_IN_FLIGHT
        )
        self._acks: dict[UUID, datetime] = {}
        """Acknowledgements not yet in the store: event id -> when."""
        self._acks_taken: set[UUID] = set()
        """... of which a statement under way is writing these."""
        self._acks_to_take: dict[UUID, datetime] = {}
        """... of which these are waiting for a statement to take them (one under way may
        hold an earlier time of the same request). Taking them reads this alone, not
        every acknowledgement held: a batch file's thousands of acknowledgements in flight
        were scanned again by every claim batch and every pass of the writer."""
        self._acks_written = 0
        """Batches of acknowledgements written so far: a read that began before one was
        written may hold a row as ``pending`` whose acknowledgement is no longer held."""
        self._ack_writer: asyncio.Task[None] | None = None

    async def claim(self, request: NewRequest) -> ClaimedRequest:
        async with store_call("claiming the reference"):
            return await self._claims.submit(request)

    async def claim_many(self, requests: Sequence[NewRequest]) -> list[ClaimedRequest]:
        async with store_call("claiming the references"):
            return await self._claims.submit_many(requests)

    async def mark_accepted(self, event_id: UUID, at: datetime) -> None:
        """Remember the acknowledgement; it is written with the next claim batch or soon after."""
        earlier = self._acks.get(event_id)
        if earlier is None or at > earlier:  # else the time held already is written, or will be
            self._acks[event_id] = self._acks_to_take[event_id] = at
        if self._ack_writer is None or self._ack_writer.done():
            self._ack_writer = asyncio.create_task(self._write_acks_soon(), name="inbox-acks")

    async def flush(self) -> None:
        """Write every acknowledgement still held (shutdown, and tests that read the table)."""
        while self._acks:
            acks = self._take_acks()
            if not acks:
                await asyncio.sleep(ACK_DELAY_S)  # a claim batch is writing the rest
                continue
            await self._write_acks(acks)

    def _take_acks(self) -> dict[UUID, datetime]:
        """The acknowledgements no statement is writing, for the next one to write."""
        waiting, taken = self._acks_to_take, self._acks_taken
        # Rare: a request acknowledged again while a statement writes its earlier time.
        if taken and any(i in taken for i in waiting):
            acks = {i: at for i, at in waiting.items() if i not in taken}
            for event_id in acks:
                del waiting[event_id]
        else:
            acks, self._acks_to_take = waiting, {}
        taken.update(acks)
        return acks

    def _acks_done(self, acks: dict[UUID, datetime], *, written: bool) -> None:
        self._acks_taken.difference_update(acks)
        if written:
            self._acks_written += 1
        for event_id, at in acks.items():
            held = self._acks.get(event_id)
            if held is None:
                continue
            if written and held == at:
                del self._acks[event_id]
            else:  # not written: the next statement takes it again (a later time waits already)
                self._acks_to_take.setdefault(event_id, held)

    async def _write_acks_soon(self) -> None:
        """Write what no claim batch took along; while the store is away, keep trying."""
        pause = ACK_DELAY_S
        while self._acks:
            await asyncio.sleep(pause)
            if self._postgres and self._claims.busy:
                # A claim batch is queued or under way: the next one takes them along, if
                # requests keep coming; looked at again after the pause if they do not.
                continue
            acks = self._take_acks()
            if not acks:
                continue
            try:
                await self._write_acks(acks)
                pause = ACK_DELAY_S
            except Exception as exc:  # noqa: BLE001 (kept, and written once the store is back)
                if not is_transient(exc):
                    log.error("acknowledgements could not be written: %r", exc)
                pause = min(max(pause * 2, 0.1), 5.0)

    async def _write_acks(self, acks: dict[UUID, datetime]) -> None:
        written = False

        async def write() -> None:
            if self._postgres:  # one statement: no transaction around it
                async with autocommitted(self._engine) as conn:
                    await self._ack_rows(conn, acks)
            else:
                async with self._engine.begin() as conn:
                    await self._ack_rows(conn, acks)

        try:
            await _LOCK_RACES.run(write)
            written = True
        finally:
            self._acks_done(acks, written=written)

    def _as_acknowledged(self, claimed: ClaimedRequest) -> ClaimedRequest:
        """A pending row whose acknowledgement is not written yet, as it will be."""
        at = self._acks.get(claimed.event_id) if claimed.status == "pending" else None
        return (
            claimed
            if at is None
            else msgspec.structs.replace(claimed, status="accepted", updated_at=at)
        )

    async def _claim_batch(self, requests: list[NewRequest]) -> list[ClaimedRequest]:
        acks = self._take_acks() if self._postgres else {}
        written = False

        async def claim() -> list[ClaimedRequest]:
            if self._postgres:
                return await self._claim_on_postgres(requests, acks)
            async with self._engine.begin() as conn:
                niks = {r.member_key for r in requests if r.kind == "registration"}
                known = await self._known_kpjs(conn, sorted(niks))
                return await self._insert_claims(conn, requests, known)

        try:
            claimed = await _LOCK_RACES.run(claim)
            written = True
        finally:
            self._acks_done(acks, written=written)
        return [self._as_acknowledged(c) for c in claimed]

    async def _claim_on_postgres(
        self, requests: list[NewRequest], acks: dict[UUID, datetime]
    ) -> list[ClaimedRequest]:
        """The batch in one autocommitted statement; the rare late ones in a transaction."""
        async with autocommitted(self._engine) as conn:
            held = await self._claim_in_one(conn, requests, acks)
            # A twin committed by another transaction while the statement waited for it:
            # the statement's snapshot predates it, a second statement sees it.
            await self._add_held(conn, requests, held)
        late = [r for r in requests if (r.partner_id, r.kind, r.reference) not in held]
        if late:  # dated on a day already closed: moved to the next open day, flagged
            async with self._engine.begin() as conn:
                # Never a registration (no business day), so no KPJ to look up.
                for request, claimed in zip(
                    late, await self._insert_claims(conn, late, {}), strict=True
                ):
                    held[(request.partner_id, request.kind, request.reference)] = claimed
        return [held[(r.partner_id, r.kind, r.reference)] for r in requests]

    async def _claim_in_one(
        self, conn: Autocommitted, requests: list[NewRequest], acks: dict[UUID, datetime]
    ) -> dict[tuple[str, str, str], ClaimedRequest]:
        """PostgreSQL: the whole batch in one statement (see ``_CLAIM_BATCH``), run by
        asyncpg itself (``fetch_on_driver``; it may run twice, as a retry would).

        Returns the claims it made or found, by (partner, kind, reference).
        """
        # Inserted in key order: two processes claiming overlapping references wait for
        # each other in one order, never in a cycle.
        ordered = sorted(requests, key=lambda r: (r.partner_id, r.kind, r.reference))
        params = _claim_params(ordered, acks)
        held: dict[tuple[str, str, str], ClaimedRequest] = {}
        rows = await fetch_on_driver(conn, _CLAIM_BATCH, params)
        # By position: each row's columns by name cost 2-3 µs a row of a batch file.
        claimed_at, created_at = _CLAIMED_AT, _CLAIMED_AT.stop
        sent: dict[tuple[str, str, str], NewRequest] = {}
        for request in ordered:  # a reference twice in a batch: the first one is inserted
            sent.setdefault((request.partner_id, request.kind, request.reference), request)
        at = claimed_at.start  # partner_id, kind, reference: the key, first
        for row in rows:
            key = (row[at], row[at + 1], row[at + 2])
            if row[0]:
                held[key] = _as_inserted(sent[key], row[_KPJ_AT])
            else:
                held[key] = _as_first_answered(ClaimedRequest(*row[claimed_at]), row[created_at])
        return held

    async def is_closed(self, partner_id: str, day: date) -> bool:
        async with self._reading() as conn:
            row = (
                await conn.execute(
                    sa.select(settlement_days.c.partner_id).where(
                        settlement_days.c.partner_id == partner_id,
                        settlement_days.c.business_date == day,
                    )
                )
            ).first()
        return row is not None

    async def _date_after_close(
        self, conn: AsyncConnection, inserted: list[ClaimedRequest]
    ) -> list[ClaimedRequest]:
        """Move new rows dated on a closed day to the partner's next open day, flagged.

        Runs after the INSERT in the same transaction, so it holds the lock a close waits
        for (``hub settle close`` takes SHARE on the inbox): a close never misses a row
        that is being dated on its day, and a row never lands on a day already closed.
        """
        dated = [c for c in inserted if c.business_date is not None]
        if not dated:
            return inserted
        earliest = min(c.business_date for c in dated if c.business_date is not None)
        closed: dict[str, set[date]] = defaultdict(set)
        rows = await conn.execute(
            sa.select(settlement_days.c.partner_id, settlement_days.c.business_date).where(
                settlement_days.c.partner_id.in_(sorted({c.partner_id for c in dated})),
                settlement_days.c.business_date >= earliest,
            )
        )
        for row in rows:
            closed[row.partner_id].add(row.business_date)
        if not closed:
            return inserted
        moved: dict[UUID, ClaimedRequest] = {}
        for claim in dated:
            day = claim.business_date
            if day is not None and day in closed[claim.partner_id]:
                open_day = first_open_day(day, closed[claim.partner_id])
                moved[claim.event_id] = msgspec.structs.replace(
                    claim, business_date=open_day, after_close=True
                )
        for claim in moved.values():
            await conn.execute(
                partner_requests.update()
                .where(partner_requests.c.event_id == claim.event_id)
                .values(business_date=claim.business_date, after_close=True)
            )
        return [moved.get(c.event_id, c) for c in inserted]

    async def _known_kpjs(self, conn: AsyncConnection, niks: list[str]) -> dict[str, str]:
        """KPJs of members already recorded: a second registration answers with the first."""
        if not niks:
            return {}
        if self._postgres:
            # Driven by the array (a nested loop over the unique index), a plan that stays
            # fast on tables the planner has no statistics for yet (a fresh or bulk-loaded
            # store), where "nik = ANY(...)" was measured to seq-scan.
            rows = await conn.execute(
                sa.text(
                    "SELECT m.nik, m.kpj FROM unnest(CAST(:niks AS varchar[])) AS v(nik) "
                    "JOIN members m ON m.nik = v.nik"
                ),
                {"niks": niks},
            )
        else:
            rows = await conn.execute(
                sa.select(members.c.nik, members.c.kpj).where(members.c.nik.in_(niks))
            )
        return {r.nik: r.kpj for r in rows}

    async def _insert_claims(
        self, conn: AsyncConnection, requests: list[NewRequest], known: dict[str, str]
    ) -> list[ClaimedRequest]:
        # Inserted in key order: two processes claiming overlapping references wait for
        # each other in one order, never in a cycle.
        ordered = sorted(requests, key=lambda r: (r.partner_id, r.kind, r.reference))
        rows = [
            {
                "partner_id": r.partner_id,
                "kind": r.kind,
                "reference": r.reference,
                "request_hash": r.request_hash,
                "event_id": r.event_id,
                "hub_reference": r.hub_reference,
                "member_key": r.member_key,
                "status": "pending",
                "kpj": known.get(r.member_key) if r.kind == "registration" else None,
                "event_json": r.event_json,
                "agent_id": r.agent_id,
                "created_at": r.received_at,
                "updated_at": r.received_at,
                **_settlement_columns(r),
            }
            for r in ordered
        ]
        inserted = await insert_rows(
            conn,
            partner_requests,
            rows,
            skip_conflicts_on=("partner_id", "kind", "reference"),
            returning=_CLAIM_NAMES,
        )
        new_claims = await self._date_after_close(conn, [_claimed(r) for r in inserted])
        held: dict[tuple[str, str, str], ClaimedRequest] = {
            (c.partner_id, c.kind, c.reference): c for c in new_claims
        }
        # Retries and concurrent twins: the reference is already held.
        return await self._in_request_order(conn, requests, held)

    async def _in_request_order(
        self,
        conn: AsyncConnection,
        requests: list[NewRequest],
        held: dict[tuple[str, str, str], ClaimedRequest],
    ) -> list[ClaimedRequest]:
        """Each request's claim, in order: ``held``, else the row already in the inbox."""
        await self._add_held(conn, requests, held)
        return [held[(r.partner_id, r.kind, r.reference)] for r in requests]

    async def _add_held(
        self,
        conn: AsyncConnection,
        requests: list[NewRequest],
        held: dict[tuple[str, str, str], ClaimedRequest],
    ) -> None:
        """Add to ``held`` the inbox's rows of the requests it does not name yet."""
        missing = sorted({(r.partner_id, r.kind, r.reference) for r in requests} - held.keys())
        if missing:
            held.update(
                {
                    (r.partner_id, r.kind, r.reference): _as_first_answered(
                        _claimed(r), r.created_member
                    )
                    for r in await self._held(conn, missing)
                }
            )

    async def _held(self, conn: AsyncConnection, keys: Sequence[tuple[str, str, str]]) -> Any:
        """The inbox rows under these (partner, kind, reference) keys."""
        if self._postgres:
            # Array-driven, like _known_kpjs: a re-uploaded batch file is all retries, and a
            # tuple IN list was measured at 340 ms a batch on a table without statistics.
            partners, kinds, references = (list(column) for column in zip(*keys, strict=True))
            columns = ", ".join(f"r.{name}" for name in _CLAIM_NAMES)
            return await conn.execute(
                sa.text(
                    f"SELECT {columns}, "  # noqa: S608
                    "COALESCE(m.registration_event_id = r.event_id, false) AS created_member "
                    "FROM unnest(CAST(:partners AS varchar[]), "
                    "CAST(:kinds AS varchar[]), CAST(:refs AS varchar[])) "
                    "AS v(partner_id, kind, reference) JOIN partner_requests r "
                    "ON r.partner_id = v.partner_id AND r.kind = v.kind "
                    "AND r.reference = v.reference "
                    "LEFT JOIN members m ON m.nik = r.member_key"
                ),
                {"partners": partners, "kinds": kinds, "refs": references},
            )
        created = members.c.registration_event_id == partner_requests.c.event_id
        return await conn.execute(
            sa.select(*_CLAIM_COLUMNS, sa.func.coalesce(created, False).label("created_member"))
            .select_from(
                partner_requests.outerjoin(members, members.c.nik == partner_requests.c.member_key)
            )
            .where(
                sa.tuple_(
                    partner_requests.c.partner_id,
                    partner_requests.c.kind,
                    partner_requests.c.reference,
                ).in_(keys)
            )
        )

    async def _ack_rows(self, conn: AsyncConnection, acks: dict[UUID, datetime]) -> None:
        if self._postgres:
            await conn.execute(sa.text(_ACK_ROWS), _ack_params(acks))
            return
        for event_id, at in sorted(acks.items()):
            await conn.execute(
                partner_requests.update()
                .where(
                    partner_requests.c.event_id == event_id,
                    partner_requests.c.status.in_(("pending", "accepted")),
                )
                .values(status="accepted", updated_at=at)
            )

    async def lease_unrecorded(
        self, accepted_before: datetime, now: datetime, limit: int
    ) -> list[UnrecordedRequest]:
        # SKIP LOCKED: several hub processes share the work and never wait on each other
        # (or on the consumer's status update); on SQLite there is a single writer anyway.
        # The accepted rows are found through ``unrecorded_requests``; the status is
        # checked again on the inbox row, which is the one locked (and re-read if it
        # changed meanwhile).
        r, u = partner_requests, unrecorded_requests
        stale = (
            sa.select(r.c.id)
            .join(u, u.c.request_id == r.c.id)
            .where(u.c.updated_at < accepted_before, r.c.status == "accepted")
            .order_by(u.c.request_id)  # claim order: a member's events stay in order
            .limit(limit)
            .with_for_update(of=r, skip_locked=True)
        )
        async with store_call("leasing unrecorded requests"), self._engine.begin() as conn:
            rows = await conn.execute(
                partner_requests.update()
                .where(partner_requests.c.id.in_(stale.scalar_subquery()))
                .values(updated_at=now, redrive_count=partner_requests.c.redrive_count + 1)
                .returning(
                    partner_requests.c.id,
                    partner_requests.c.partner_id,
                    partner_requests.c.kind,
                    partner_requests.c.reference,
                    partner_requests.c.event_id,
                    partner_requests.c.member_key,
                    partner_requests.c.event_json,
                    partner_requests.c.redrive_count,
                )
            )
            # RETURNING comes in no particular order: put it back in claim order.
            return [
                UnrecordedRequest(
                    r.partner_id,
                    r.kind,
                    r.reference,
                    r.event_id,
                    r.member_key,
                    r.event_json,
                    r.redrive_count,
                )
                for r in sorted(rows, key=lambda r: r.id)
            ]

    async def find(
        self, partner_id: str, kind: RequestKind, reference: str
    ) -> ClaimedRequest | None:
        async with store_call("finding the request"):
            async for attempt in reconnected():
                with attempt:
                    written = self._acks_written
                    claimed = await self._find(partner_id, kind, reference)
                    if self._ack_written_since(claimed, written):
                        claimed = await self._find(partner_id, kind, reference)
        return None if claimed is None else self._as_acknowledged(claimed)

    async def _find(
        self, partner_id: str, kind: RequestKind, reference: str
    ) -> ClaimedRequest | None:
        async with self._reading() as conn:
            row = (
                await conn.execute(
                    sa.select(*_CLAIM_COLUMNS).where(
                        partner_requests.c.partner_id == partner_id,
                        partner_requests.c.kind == kind,
                        partner_requests.c.reference == reference,
                    )
                )
            ).first()
        return None if row is None else _claimed(row)

    def _ack_written_since(self, claimed: ClaimedRequest | None, written: int) -> bool:
        """Whether ``claimed``, read as ``pending`` with no acknowledgement held now, may have
        had it written (and let go) while it was being read: then it is read again."""
        return (
            claimed is not None
            and claimed.status == "pending"
            and claimed.event_id not in self._acks
            and self._acks_written != written
        )

    async def claim_reversal_reference(self, reference: ReversalReference) -> ReversalReference:
        async with store_call("claiming the reversal reference"), self._engine.begin() as conn:
            await insert_rows(
                conn,
                reversal_references,
                [
                    {
                        "partner_id": reference.partner_id,
                        "reference": reference.reference,
                        "payment_reference": reference.payment_reference,
                        "request_hash": reference.request_hash,
                        "created_at": reference.created_at,
                        "agent_id": reference.agent_id,
                    }
                ],
                skip_conflicts_on=("partner_id", "reference"),
            )
            held = await self._reversal_reference(conn, reference.partner_id, reference.reference)
        if held is None:  # pragma: no cover - inserted or held, in the same transaction
            raise RuntimeError("reversal reference vanished")
        return held

    async def find_reversal_reference(
        self, partner_id: str, reference: str
    ) -> ReversalReference | None:
        async with store_call("finding the reversal reference"), self._reading() as conn:
            return await self._reversal_reference(conn, partner_id, reference)

    async def reversal_named(
        self, partner_id: str, payment_reference: str, agent_id: str | None
    ) -> bool:
        # Every first-time payment asks this once, unbatched: one statement on its own
        # (no BEGIN and ROLLBACK around it), from text. Measured against the Core select in
        # a transaction: about 0.4 against 1.3 ms of the hub's CPU a call on this machine.
        params = {"partner": partner_id, "payment": payment_reference, "agent": agent_id}
        async with store_call("looking for a reversal of the payment"):
            async for attempt in reconnected():
                with attempt:
                    async with self._reading() as conn:
                        return bool((await conn.execute(_REVERSAL_NAMED, params)).scalar())
        raise AssertionError("unreachable")  # pragma: no cover - reconnected() re-raises

    def _reading(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for one read: autocommitted on PostgreSQL, a transaction elsewhere."""
        return autocommitted(self._engine) if self._postgres else self._engine.connect()

    @staticmethod
    async def _reversal_reference(
        conn: AsyncConnection, partner_id: str, reference: str
    ) -> ReversalReference | None:
        row = (
            await conn.execute(
                sa.select(reversal_references).where(
                    reversal_references.c.partner_id == partner_id,
                    reversal_references.c.reference == reference,
                )
            )
        ).first()
        return None if row is None else record_of(ReversalReference, row)

    async def member_terms_by_kpj(self, kpj: str) -> MemberTerms | None:
        async with store_call("finding the member"), self._reading() as conn:
            row = (await conn.execute(_TERMS.where(members.c.kpj == kpj))).first()
        return None if row is None else _terms(row)

    async def member_terms(self, nik: str) -> MemberTerms | None:
        async with store_call("finding the member"):
            async for attempt in reconnected():
                with attempt:
                    return await self._member_terms(nik)
        raise AssertionError("unreachable: tenacity reraises")

    async def _member_terms(self, nik: str) -> MemberTerms | None:
        written = self._acks_written
        terms = await self._member_terms_once(nik)
        if terms is None and self._acks_written != written:
            # An acknowledgement written (and let go) during the read: read again.
            terms = await self._member_terms_once(nik)
        return terms

    async def _member_terms_once(self, nik: str) -> MemberTerms | None:
        async with self._reading() as conn:
            member = (await conn.execute(_TERMS.where(members.c.nik == nik))).first()
            if member is not None:
                return _terms(member)
            # Accepted but not yet recorded: the payment will queue behind the
            # registration on the member's Kafka key, so it can be priced now. A pending
            # row counts when this process holds its acknowledgement, not yet written.
            rows = (
                await conn.execute(
                    sa.select(
                        partner_requests.c.event_json,
                        partner_requests.c.status,
                        partner_requests.c.event_id,
                    )
                    .where(
                        partner_requests.c.member_key == nik,
                        partner_requests.c.kind == "registration",
                        partner_requests.c.status.in_(("pending", "accepted", "recorded")),
                    )
                    .order_by(partner_requests.c.id)
                )
            ).all()
            pending = next(
                (r for r in rows if r.status != "pending" or r.event_id in self._acks), None
            )
            if pending is not None and pending.status == "recorded":
                # The consumer recorded the member between the two reads: read it again.
                member = (await conn.execute(_TERMS.where(members.c.nik == nik))).first()
                if member is not None:
                    return _terms(member)
        if pending is None:
            return None
        return MemberTerms.of_accepted_registration(pending.event_json)


def _settlement_columns(request: NewRequest) -> dict[str, Any]:
    """The settlement columns of an inbox row; every row of a batch has all of them."""
    facts = request.settlement
    if facts is None:
        return dict.fromkeys(SETTLEMENT_COLUMNS) | {"after_close": False}
    return {
        "business_date": facts.business_date,
        "amount": facts.amount,
        "months": facts.months,
        "paid_at": facts.paid_at,
        "amount_jkk": facts.jkk,
        "amount_jkm": facts.jkm,
        "amount_jht": facts.jht,
        "after_close": False,
    }


# The consumer's side of the inbox state machine: accepted -> recorded or rejected.
# Rows are locked in event id order, as the API's acknowledgement locks them (no
# deadlock), and they only move forward: a recorded or rejected request never changes again.


_OUTCOME = "(SELECT by_id FROM given) -> CAST(r.event_id AS text)"
_RECORD_OUTCOMES = sa.text(
    "WITH given AS MATERIALIZED (SELECT CAST(CAST(:outcomes AS text) AS jsonb) AS by_id) "  # noqa: S608
    f"UPDATE partner_requests AS r SET status = {_OUTCOME} ->> 0, "
    f"kpj = {_OUTCOME} ->> 1, reason = {_OUTCOME} ->> 2, updated_at = :now "
    "WHERE r.event_id = ANY(CAST(:ids AS uuid[])) AND r.status IN ('pending', 'accepted')"
)
"""Each request's outcome, (status, KPJ, reason), from a JSON object keyed by event id.

Run only as ``record_outcomes`` runs it: with sequential and bitmap scans off, so that
the one plan left reads the rows through the unique index of event ids, whose scan of an
array takes its elements in the index's order. Each row is locked as it is read, so in
event id order, the order of the acknowledgements' ``FOR UPDATE`` (``_ACK_ROWS``).
Locking the rows in a pass of their own first, as this statement once did (in id order,
then the acknowledgements' order), cost a sixth of its time (2,000 outcomes: 48 ms
against 57, the median of 24 batches each, on a table shaped like the inbox with 200,000
rows)."""

_EVENT_ID_ORDER = sa.text(
    "WITH was AS MATERIALIZED (SELECT current_setting('enable_seqscan') AS seqscan,"
    " current_setting('enable_bitmapscan') AS bitmapscan)"
    " SELECT was.seqscan, was.bitmapscan, set_config('enable_seqscan', 'off', true),"
    " set_config('enable_bitmapscan', 'off', true) FROM was"
)
"""Sequential and bitmap scans off, until ``_PLANNER_AS_IT_WAS`` puts them back; returns the
two settings as they were (set locally, they would otherwise stay off to the transaction's end)."""

_PLANNER_AS_IT_WAS = sa.text(
    "SELECT set_config('enable_seqscan', :seqscan, true),"
    " set_config('enable_bitmapscan', :bitmapscan, true)"
)


async def record_outcomes(
    conn: AsyncConnection,
    outcomes: Sequence[tuple[UUID, str, str | None, str | None]],
    now: datetime,
) -> None:
    """What became of each request, by event id: (event id, status, KPJ, reason)."""
    if not outcomes:
        return
    if conn.dialect.name == "postgresql":
        # One statement for the whole batch instead of one round trip per request; each
        # row's outcome is looked up by its event id (see ``_ACK_ROWS`` for why not a join)
        # in a JSON object written by orjson: three arrays of a batch's 2,000 outcomes cost
        # the consumer more to send, element by element, than the object does whole.
        by_id = {event_id: (status, kpj, reason) for event_id, status, kpj, reason in outcomes}
        try:
            written = orjson.dumps(by_id, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # ids of another UUID class than the standard one (asyncpg's)
            written = orjson.dumps({str(key): value for key, value in by_id.items()})
        was = (await conn.execute(_EVENT_ID_ORDER)).one()
        await conn.execute(
            _RECORD_OUTCOMES, {"ids": list(by_id), "outcomes": written.decode(), "now": now}
        )
        await conn.execute(
            _PLANNER_AS_IT_WAS, {"seqscan": was.seqscan, "bitmapscan": was.bitmapscan}
        )
        return
    await conn.execute(
        partner_requests.update()
        .where(
            partner_requests.c.event_id == sa.bindparam("b_event_id"),
            # Not ``in_``: an expanding parameter cannot be sent with executemany().
            sa.or_(partner_requests.c.status == "pending", partner_requests.c.status == "accepted"),
        )
        .values(
            status=sa.bindparam("b_status"),
            kpj=sa.bindparam("b_kpj"),
            reason=sa.bindparam("b_reason"),
            updated_at=now,
        ),
        [{"b_event_id": i, "b_status": s, "b_kpj": k, "b_reason": r} for i, s, k, r in outcomes],
    )


async def reject_unrecorded(
    conn: AsyncConnection, event_id: UUID, reason: str, now: datetime
) -> tuple[str, str] | None:
    """Reject the request of an event that will never be recorded, if it is not yet.

    Returns (partner id, event JSON) of the request that changed, or None.
    """
    row = (
        await conn.execute(
            partner_requests.update()
            .where(
                partner_requests.c.event_id == event_id,
                partner_requests.c.status.in_(("pending", "accepted")),
            )
            .values(status="rejected", reason=reason, updated_at=now)
            .returning(partner_requests.c.partner_id, partner_requests.c.event_json)
        )
    ).first()
    return None if row is None else (row.partner_id, row.event_json)
