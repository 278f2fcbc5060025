"""The core consumer against the real Tansu broker and real PostgreSQL."""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from hub.bootstrap import Hub, build
from hub.kafka.consumer import ConsumerStats
from hub.kafka.topics import ensure_topics
from hub.settings import Settings
from hub.store.recording import BatchResult, IncomingEvent, RecordingService
from schemas.events import ContributionPaid, EventEnvelope, RegistrationSubmitted
from tests.support.people import applicant
from tests.support.store import asyncpg_dsn, fetch_row, fetch_value
from tests.support.topics import read_topic

# Also run on the Tansu fallback broker (make pytest-tansu).
pytestmark = pytest.mark.tansu


def registration(body: dict[str, object], ref: str | None = None) -> EventEnvelope:
    payload = RegistrationSubmitted.model_validate(
        {k: v for k, v in body.items() if k != "reference"}
        | {"programmes": tuple(body["programmes"])}  # type: ignore[arg-type]
    )
    now = datetime.now(UTC)
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="RegistrationSubmitted",
        channel="hub-api",
        partner_id="demo",
        partner_ref=ref or str(body["reference"]),
        occurred_at=now,
        received_at=now,
        member_key=payload.nik,
        payload=payload,
    )


def payment(nik: str, ref: str, amount: int = 16_800, months: int = 1) -> EventEnvelope:
    now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="ContributionPaid",
        channel="hub-api",
        partner_id="demo",
        partner_ref=ref,
        occurred_at=now,
        received_at=now,
        member_key=nik,
        payload=ContributionPaid(nik=nik, months=months, amount=amount, paid_at=now),  # type: ignore[arg-type]
    )


async def produce(settings: Settings, messages: list[tuple[str, bytes]]) -> None:
    await ensure_topics(settings, settings.kafka_bootstrap_servers)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
    )
    await producer.start()
    try:
        # Handed over in order (one producer keeps each partition's order), acked together.
        sent = [
            await producer.send(settings.kafka_member_events_topic, value, key=key.encode())
            for key, value in messages
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def consume(
    settings: Settings, until: Callable[[ConsumerStats], bool], within_s: float = 20
) -> tuple[Hub, ConsumerStats]:
    """Run the core consumer, built as the hub builds it, until its stats say ``until``."""
    hub = build(settings, settings.kafka_bootstrap_servers)
    consumer = hub.consumer()
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        async with asyncio.timeout(within_s):
            while not until(consumer.stats):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await consumer.stop()
    return hub, consumer.stats


async def test_registration_then_payment_become_member_and_contribution(settings: Settings) -> None:
    person = applicant()
    reg = registration(person)
    pay = payment(person["nik"], f"PAY-{uuid.uuid4().hex[:8]}")
    await produce(
        settings,
        [
            (reg.member_key, reg.model_dump_json().encode()),
            (pay.member_key, pay.model_dump_json().encode()),
        ],
    )
    hub, _ = await consume(settings, until=lambda stats: stats.recorded >= 2)

    await hub.engine.dispose()
    member = await fetch_row(
        settings.database_url,
        "SELECT kpj, full_name, paid_through FROM members WHERE nik = $1",
        person["nik"],
    )
    contribution = await fetch_row(
        settings.database_url,
        "SELECT amount, months, covers_from, covers_through FROM contributions c "
        "JOIN members m ON m.id = c.member_id WHERE m.nik = $1",
        person["nik"],
    )
    assert member is not None and contribution is not None
    assert len(member["kpj"]) == 11
    assert member["full_name"] == person["full_name"].upper()
    assert member["paid_through"] == date(2026, 11, 1)
    assert (contribution["amount"], contribution["months"]) == (16_800, 1)
    assert contribution["covers_from"] == contribution["covers_through"] == date(2026, 11, 1)


async def test_replayed_events_change_nothing(settings: Settings) -> None:
    person = applicant()
    reg = registration(person)
    pay = payment(person["nik"], f"PAY-{uuid.uuid4().hex[:8]}")
    messages = [(e.member_key, e.model_dump_json().encode()) for e in (reg, pay)]
    await produce(settings, messages + messages + messages)
    hub, stats = await consume(settings, until=lambda stats: stats.recorded + stats.duplicates >= 6)
    await hub.engine.dispose()
    members = await fetch_value(
        settings.database_url, "SELECT count(*) FROM members WHERE nik = $1", person["nik"]
    )
    contributions = await fetch_row(
        settings.database_url,
        "SELECT count(*), max(m.paid_through) FROM contributions c JOIN members m "
        "ON m.id = c.member_id WHERE m.nik = $1",
        person["nik"],
    )
    assert contributions is not None
    assert stats.recorded == 2
    assert stats.duplicates == 4
    assert members == 1
    assert contributions[0] == 1
    assert contributions[1] == date(2026, 11, 1)


async def test_poison_message_goes_to_dead_letters_and_the_partition_moves_on(
    settings: Settings,
) -> None:
    person = applicant()
    reg = registration(person)
    poison = b'{"event_type": "RegistrationSubmitted", "surprise": true}'
    # Same key, so the valid event sits behind the poison one on the same partition.
    await produce(
        settings, [(reg.member_key, poison), (reg.member_key, reg.model_dump_json().encode())]
    )
    hub, stats = await consume(settings, until=lambda stats: stats.recorded >= 1)
    await hub.engine.dispose()
    assert stats.dead_lettered == 1

    letters = await read_topic(settings.kafka_bootstrap_servers, settings.kafka_dead_letter_topic)
    assert [r.value for r in letters] == [poison]
    headers = dict(letters[0].headers)
    assert b"not a valid event envelope" in headers["error"]
    assert headers["source-topic"] == settings.kafka_member_events_topic.encode()


async def test_payment_for_unregistered_member_is_recorded_as_rejected_not_dead_lettered(
    settings: Settings,
) -> None:
    person = applicant()
    pay = payment(person["nik"], f"PAY-{uuid.uuid4().hex[:8]}")
    await produce(settings, [(pay.member_key, pay.model_dump_json().encode())])
    hub, stats = await consume(settings, until=lambda stats: stats.rejected >= 1)
    await hub.engine.dispose()
    outcome = await fetch_value(
        settings.database_url,
        "SELECT outcome FROM processed_events WHERE event_id = $1",
        pay.event_id,
    )
    assert outcome == "rejected"
    assert stats.dead_lettered == 0


async def test_batches_of_different_partitions_are_recorded_at_once_each_member_in_order(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog over several partitions, in small batches: as many transactions run at
    once as the setting allows, and no more (seen from inside the recording service),
    yet every member's payment comes after its registration, so none is refused, and
    every member ends paid through November."""
    settings = settings.model_copy(
        update={"kafka_consumer_max_batch": 40, "kafka_consumer_transactions": 3}
    )
    people = [applicant() for _ in range(200)]
    events = [
        event
        for person in people
        for event in (registration(person), payment(person["nik"], f"PAY-{uuid.uuid4().hex[:10]}"))
    ]
    await produce(settings, [(e.member_key, e.model_dump_json().encode()) for e in events])

    at_once = most_at_once = 0
    apply = RecordingService.apply

    async def observed(self: RecordingService, batch: Sequence[IncomingEvent]) -> BatchResult:
        nonlocal at_once, most_at_once
        at_once += 1
        most_at_once = max(most_at_once, at_once)
        try:
            return await apply(self, batch)
        finally:
            at_once -= 1

    monkeypatch.setattr(RecordingService, "apply", observed)
    hub, stats = await consume(
        settings, until=lambda s: s.recorded + s.rejected >= 400, within_s=60
    )
    await hub.engine.dispose()

    assert (stats.recorded, stats.rejected, stats.dead_lettered) == (400, 0, 0)
    assert most_at_once == 3
    paid = await fetch_row(
        settings.database_url,
        "SELECT count(DISTINCT m.id) AS members, min(m.paid_through) AS earliest,"
        " max(m.paid_through) AS latest, count(c.member_id) AS contributions"
        " FROM members m LEFT JOIN contributions c ON c.member_id = m.id WHERE m.nik = ANY($1)",
        [p["nik"] for p in people],
    )
    assert paid is not None
    assert dict(paid) == {
        "members": 200,
        "earliest": date(2026, 11, 1),
        "latest": date(2026, 11, 1),
        "contributions": 200,
    }


async def test_a_batch_that_runs_past_the_statement_timeout_is_applied_in_halves(
    settings: Settings,
) -> None:
    """The store's ``statement_timeout`` is 300 ms and each new member takes 10 ms to
    insert (a trigger): a batch of more than 30 registrations times out however often it
    is tried whole, and its partitions would wait for good. In halves, each in its own
    transaction, every member is recorded, once, and nothing is dead-lettered."""
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'ALTER DATABASE "{database}" SET statement_timeout = 300')
        await conn.execute(
            "CREATE FUNCTION slow_member() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER slow_member BEFORE INSERT ON members "
            "FOR EACH ROW EXECUTE FUNCTION slow_member()"
        )
    finally:
        await conn.close()
    people = [applicant() for _ in range(200)]
    events = [registration(person) for person in people]
    try:
        await produce(settings, [(e.member_key, e.model_dump_json().encode()) for e in events])
        hub, stats = await consume(settings, until=lambda s: s.recorded >= 200, within_s=40)
        await hub.engine.dispose()
    finally:
        # The session's database is every later test's too.
        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            await conn.execute("DROP TRIGGER slow_member ON members")
            await conn.execute("DROP FUNCTION slow_member()")
            await conn.execute(f'ALTER DATABASE "{database}" RESET statement_timeout')
        finally:
            await conn.close()

    assert (stats.recorded, stats.rejected, stats.dead_lettered) == (200, 0, 0)
    members = await fetch_value(
        settings.database_url,
        "SELECT count(*) FROM members WHERE nik = ANY($1)",
        [p["nik"] for p in people],
    )
    assert members == 200
