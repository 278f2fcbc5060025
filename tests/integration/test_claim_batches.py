"""A claim batch on PostgreSQL answers each request as the store holds it.

The claim statement sends back only the key and the KPJ of the rows it inserts; the
ledger builds the rest from the requests it sent. Whatever it builds must be what a read
of the row gives afterwards. The acknowledgements that ride with the batches must all be
written, even when a statement writing them fails.
"""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from msgspec.structs import replace
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.intake.ports import ClaimedRequest, NewRequest
from hub.store.inbox import ACK_DELAY_S, SqlRequestLedger
from tests.integration.conftest import MEMBERS_INSERT
from tests.support.inbox import payment_request

pytestmark = pytest.mark.integration

PARTNER = "claim-batches"
RECEIVED = datetime(2026, 3, 10, 3, 4, 5, 678_901, tzinfo=UTC)


def _registration(reference: str, nik: str) -> NewRequest:
    """A registration sent by an agent, received at ``RECEIVED``."""
    payment = payment_request(PARTNER, reference, date(2026, 3, 10), member_key=nik)
    event = '{"event_type": "registration_submitted", "nik": "' + nik + '"}'
    return replace(payment, kind="registration", request_hash="a" * 64, settlement=None,
                   hub_reference=f"REG-{reference}", event_json=event, received_at=RECEIVED,
                   agent_id="AGT-7")  # fmt: skip


def _reference() -> str:
    return f"B-{uuid.uuid4().hex[:12]}"


async def _stored(engine: AsyncEngine, request: NewRequest) -> ClaimedRequest:
    found = await SqlRequestLedger(engine).find(request.partner_id, request.kind, request.reference)
    assert found is not None
    return found


async def test_each_new_claim_of_a_batch_is_what_a_read_of_its_row_gives(
    engine: AsyncEngine,
) -> None:
    ledger = SqlRequestLedger(engine)
    nik = f"5171{uuid.uuid4().int % 10**12:012d}"
    registration = _registration(_reference(), nik)
    payment = replace(payment_request(PARTNER, _reference(), date(2026, 3, 10)), agent_id="AGT-9")

    claims = await ledger.claim_many([registration, payment])

    for request, claimed in zip([registration, payment], claims, strict=True):
        assert claimed == await _stored(engine, request)
        assert claimed.status == "pending"
    assert claims[0].created_at == claims[0].updated_at == RECEIVED
    assert claims[0].agent_id == "AGT-7"
    assert claims[0].business_date is None
    assert claims[1].business_date == date(2026, 3, 10)
    assert claims[1].agent_id == "AGT-9"


async def test_a_new_claim_of_a_recorded_members_registration_carries_that_members_kpj(
    engine: AsyncEngine,
) -> None:
    # The statement looks the KPJ up and sends it back beside the inserted row's key; the
    # ledger reads it from its place in that row. The other columns of an inserted row
    # come back NULL, so only a member with a KPJ shows it read from the wrong place.
    nik = f"5171{uuid.uuid4().int % 10**12:012d}"
    kpj = f"9{uuid.uuid4().int % 10**10:010d}"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                MEMBERS_INSERT + "VALUES (:id, :nik, :kpj, 'Sri Wahyuni', '1990-01-02', 'F',"
                " '081234567890', 'Jl. Melati 1', 'Pedagang', 2000000, 'JKK,JKM',"
                " '2026-03-01', 'pos', :partner, :event, :at, :at, 'hub')"
            ),
            {"id": uuid.uuid4().int % 10**15, "nik": nik, "kpj": kpj, "partner": PARTNER,
             "event": uuid.uuid4(), "at": RECEIVED},
        )  # fmt: skip
    new_member = _registration(_reference(), f"5171{uuid.uuid4().int % 10**12:012d}")
    again = _registration(_reference(), nik)

    claims = await SqlRequestLedger(engine).claim_many([new_member, again])

    assert [c.kpj for c in claims] == [None, kpj]
    assert claims[1] == await _stored(engine, again)
    assert claims[1].reference == again.reference


async def test_a_reference_twice_in_one_batch_is_held_by_the_first_request(
    engine: AsyncEngine,
) -> None:
    first = payment_request(PARTNER, _reference(), date(2026, 3, 10))
    second = replace(first, request_hash="1" * 64, event_id=uuid.uuid4(), event_json="[]")

    claims = await SqlRequestLedger(engine).claim_many([first, second])

    stored = await _stored(engine, first)
    assert claims == [stored, stored]
    assert stored.request_hash == "0" * 64
    assert stored.event_id == first.event_id


async def test_each_column_of_a_batch_reaches_the_row_of_its_own_request(
    engine: AsyncEngine,
) -> None:
    # The claim sends most columns packed (``hub.store.packed``): one value read from its
    # neighbour's place shows in the rows.
    day = date(2026, 3, 10)
    requests = [
        replace(
            payment_request(PARTNER, _reference(), day, member_key=f"517104450890{i:04d}"),
            request_hash=f"{i}" * 64,
            received_at=RECEIVED + timedelta(microseconds=i),
        )
        for i in range(1, 4)
    ]

    await SqlRequestLedger(engine).claim_many(requests)

    for i, request in enumerate(requests, start=1):
        stored = await _stored(engine, request)
        assert (stored.event_id, stored.hub_reference) == (request.event_id, request.hub_reference)
        assert (stored.member_key, stored.request_hash) == (f"517104450890{i:04d}", f"{i}" * 64)
        assert stored.created_at == datetime(2026, 3, 10, 3, 4, 5, 678_901 + i, tzinfo=UTC)


async def test_values_that_cannot_be_sent_packed_are_stored_all_the_same(
    engine: AsyncEngine,
) -> None:
    # No channel lets a reference hold the unit separator, and a time past 2255 is none
    # the hub makes; sent by another caller, they go as arrays instead of failing.
    odd_reference = replace(
        payment_request(PARTNER, _reference() + "\x1fX", date(2026, 3, 10)),
        received_at=datetime(2300, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
    plain = payment_request(PARTNER, _reference(), date(2026, 3, 10))
    ledger = SqlRequestLedger(engine)

    claims = await ledger.claim_many([odd_reference, plain])

    assert claims == [await _stored(engine, odd_reference), await _stored(engine, plain)]
    assert claims[0].reference.endswith("\x1fX")
    assert claims[0].created_at == datetime(2300, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    far = datetime(2300, 1, 2, 3, 4, 5, 7, tzinfo=UTC)
    await ledger.mark_accepted(odd_reference.event_id, far)  # its time, too, as an array
    await ledger.flush()
    assert await _status_and_time(engine, odd_reference) == ("accepted", far)


async def test_acknowledgements_written_together_each_keep_their_own_time(
    engine: AsyncEngine,
) -> None:
    ledger = SqlRequestLedger(engine)
    requests = [payment_request(PARTNER, _reference(), date(2026, 3, 10)) for _ in range(3)]
    await ledger.claim_many(requests)
    times = [RECEIVED + timedelta(seconds=9, microseconds=i) for i in (3, 1, 2)]

    for request, at in zip(requests, times, strict=True):
        await ledger.mark_accepted(request.event_id, at)
    await ledger.flush()

    assert [await _status_and_time(engine, r) for r in requests] == [
        ("accepted", datetime(2026, 3, 10, 3, 4, 14, 678_904, tzinfo=UTC)),
        ("accepted", datetime(2026, 3, 10, 3, 4, 14, 678_902, tzinfo=UTC)),
        ("accepted", datetime(2026, 3, 10, 3, 4, 14, 678_903, tzinfo=UTC)),
    ]


async def _status_and_time(engine: AsyncEngine, request: NewRequest) -> tuple[str, datetime]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, updated_at FROM partner_requests WHERE event_id = :id"),
                {"id": request.event_id},
            )
        ).one()
    return row.status, row.updated_at


async def test_acknowledgements_a_failed_statement_did_not_write_are_written_later(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = SqlRequestLedger(engine)
    requests = [payment_request(PARTNER, _reference(), date(2026, 3, 10)) for _ in range(3)]
    await ledger.claim_many(requests)
    write = ledger._ack_rows
    failed: list[int] = []

    async def fails_once(conn: AsyncConnection, acks: dict[uuid.UUID, datetime]) -> None:
        if not failed:
            failed.append(len(acks))
            raise OperationalError("UPDATE", {}, ConnectionResetError("the store went away"))
        await write(conn, acks)

    monkeypatch.setattr(ledger, "_ack_rows", fails_once)
    for request in requests:
        await ledger.mark_accepted(request.event_id, request.received_at)

    statuses: list[str] = []
    async with asyncio.timeout(10):
        while statuses != ["accepted"] * 3:
            await asyncio.sleep(0.05)
            statuses = [(await _status(engine, r)) for r in requests]
    assert failed == [3]


class _HeldClaims:
    """A ledger whose claim statements wait for ``release``, and whose acknowledgements
    written on their own (not with a claim batch) are counted in ``written_alone``."""

    def __init__(self, ledger: SqlRequestLedger, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = asyncio.Event()
        self.under_way = asyncio.Event()
        self.written_alone: list[int] = []
        claim, write = ledger._claim_on_postgres, ledger._ack_rows

        async def held(
            requests: list[NewRequest], acks: dict[uuid.UUID, datetime]
        ) -> list[ClaimedRequest]:
            self.under_way.set()
            await self.release.wait()
            return await claim(requests, acks)

        async def counted(conn: AsyncConnection, acks: dict[uuid.UUID, datetime]) -> None:
            self.written_alone.append(len(acks))
            await write(conn, acks)

        monkeypatch.setattr(ledger, "_claim_on_postgres", held)
        monkeypatch.setattr(ledger, "_ack_rows", counted)


async def _answered_while_a_batch_is_held(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> tuple[SqlRequestLedger, _HeldClaims, NewRequest, "asyncio.Task[ClaimedRequest]"]:
    """A request claimed, then acknowledged while another request's claim batch is held
    under way: the ledger, the hold, the request, and the held claim's task."""
    ledger = SqlRequestLedger(engine)
    answered, busy = (payment_request(PARTNER, _reference(), date(2026, 3, 10)) for _ in range(2))
    await ledger.claim(answered)
    held = _HeldClaims(ledger, monkeypatch)
    under_way = asyncio.create_task(ledger.claim(busy))
    await held.under_way.wait()  # its batch took what was waiting, before this answer
    await ledger.mark_accepted(answered.event_id, answered.received_at)
    return ledger, held, answered, under_way


async def test_while_a_claim_batch_is_under_way_an_acknowledgement_waits_for_the_next_one(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, held, answered, under_way = await _answered_while_a_batch_is_held(engine, monkeypatch)
    next_one = payment_request(PARTNER, _reference(), date(2026, 3, 10))

    await asyncio.sleep(ACK_DELAY_S * 6)
    assert held.written_alone == []
    assert await _status(engine, answered) == "pending"

    following = asyncio.create_task(ledger.claim(next_one))  # takes it along
    held.release.set()
    await asyncio.gather(under_way, following)
    assert await _status(engine, answered) == "accepted"
    assert held.written_alone == []


async def test_an_acknowledgement_no_claim_batch_takes_along_is_written_on_its_own(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, held, answered, under_way = await _answered_while_a_batch_is_held(engine, monkeypatch)
    await asyncio.sleep(ACK_DELAY_S * 3)
    held.release.set()
    await under_way  # and no claim after it

    async with asyncio.timeout(5):
        while await _status(engine, answered) != "accepted":
            await asyncio.sleep(ACK_DELAY_S)
    assert held.written_alone == [1]


async def _status(engine: AsyncEngine, request: NewRequest) -> str:
    async with engine.connect() as conn:
        status = await conn.scalar(
            text("SELECT status FROM partner_requests WHERE event_id = :id"),
            {"id": request.event_id},
        )
    return str(status)


async def test_a_request_acknowledged_twice_keeps_the_later_time(engine: AsyncEngine) -> None:
    ledger = SqlRequestLedger(engine)
    request = payment_request(PARTNER, _reference(), date(2026, 3, 10))
    await ledger.claim(request)
    first = request.received_at + timedelta(seconds=1)
    later = request.received_at + timedelta(seconds=90)  # republished by the re-drive

    await ledger.mark_accepted(request.event_id, first)
    await ledger.mark_accepted(request.event_id, later)
    await ledger.mark_accepted(request.event_id, first)  # an older answer, late
    await ledger.flush()

    assert await _status_and_time(engine, request) == ("accepted", later)
