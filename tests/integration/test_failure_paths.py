"""Failure paths on the real components: PostgreSQL refusing or going away, a crashed dispatcher.

Outages are made with a TCP proxy between the hub and PostgreSQL that can be cut (a
real network failure), or with a trigger that makes PostgreSQL itself refuse a row.
"""

import asyncio
import importlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hub.bootstrap import build
from hub.callbacks.dispatcher import LEASE, CallbackDispatcher
from hub.intake.model import Partner
from hub.intake.requests import RegistrationRequest
from hub.settings import Settings
from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger
from tests.channels.kit import samples, world
from tests.support.callback_server import callback_server
from tests.support.outbox import POLICY, Clock, delivery_state, queue_callback
from tests.support.people import applicant
from tests.support.store import asyncpg_dsn
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.topics import read_topic

DEMO = Partner("demo", "hub-api")


def _through(proxy: TcpProxy, url: str) -> str:
    """The same database, reached through ``proxy``."""
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")


@pytest.fixture
async def pg_proxy() -> AsyncIterator[TcpProxy]:
    async with tcp_proxy("127.0.0.1", 5432) as proxy:
        yield proxy


async def _run_consumer_until(hub: Any, done: Any, within_s: float = 60.0) -> Any:
    consumer = hub.consumer()
    stop = asyncio.Event()
    await consumer.start(stop)
    task = asyncio.create_task(consumer.run(stop))
    try:
        async with asyncio.timeout(within_s):
            while not await done(consumer):
                assert not task.done(), "the consumer stopped by itself"
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
        await consumer.stop()
    return consumer


async def test_postgresql_refusing_one_event_dead_letters_it_alone_and_rejects_its_request(
    settings: Settings, database_url: str
) -> None:
    refused_name = f"REFUSED BY STORE {uuid.uuid4().hex[:6].upper().replace('0', 'A')}"
    refused_name = "".join(c if c.isalpha() or c == " " else "X" for c in refused_name)
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    trigger = f"refuse_{uuid.uuid4().hex[:8]}"
    await admin.execute(
        f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.full_name = '{refused_name}' THEN "
        "RAISE EXCEPTION 'refused by a check' USING ERRCODE = 'check_violation'; END IF; "
        f"RETURN NEW; END $$; CREATE TRIGGER {trigger} BEFORE INSERT ON members "
        f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
    )
    hub = build(settings, settings.kafka_bootstrap_servers)
    await hub.publisher.start()
    try:
        people = [applicant() for _ in range(5)]
        people[2] = {**people[2], "full_name": refused_name}
        for person in people:
            await hub.intake.submit_registration(DEMO, RegistrationRequest.model_validate(person))

        async def settled(consumer: Any) -> bool:
            return consumer.stats.recorded >= 4 and consumer.stats.dead_lettered >= 1

        consumer = await _run_consumer_until(hub, settled)
        assert (consumer.stats.recorded, consumer.stats.dead_lettered) == (4, 1)
        rows = {
            r["reference"]: r
            for r in await admin.fetch(
                "SELECT reference, status, reason FROM partner_requests WHERE reference = ANY($1)",
                [p["reference"] for p in people],
            )
        }
        refused = rows.pop(people[2]["reference"])
        assert refused["status"] == "rejected"
        assert "refused by a check" in refused["reason"]
        assert {r["status"] for r in rows.values()} == {"recorded"}
        letters = await read_topic(
            settings.kafka_bootstrap_servers, settings.kafka_dead_letter_topic
        )
        assert len(letters) == 1
        assert refused_name.encode() in (letters[0].value or b"")
    finally:
        await hub.publisher.stop()
        await hub.engine.dispose()
        await admin.execute(f"DROP TRIGGER {trigger} ON members; DROP FUNCTION {trigger}()")
        await admin.close()


async def test_a_full_disk_refusing_every_event_is_waited_out_never_dead_lettered_or_rejected(
    settings: Settings, database_url: str
) -> None:
    # PostgreSQL raises disk_full (53100) for every member row, as a full disk would for
    # every write, until the trigger goes (the operator freed space).
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    trigger = f"disk_full_{uuid.uuid4().hex[:8]}"
    await admin.execute(
        f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'could not extend file: No space left on device' "
        f"USING ERRCODE = 'disk_full'; END $$; CREATE TRIGGER {trigger} BEFORE INSERT ON members "
        f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
    )
    dropped = False
    hub = build(settings, settings.kafka_bootstrap_servers)
    await hub.publisher.start()
    try:
        people = [applicant() for _ in range(6)]
        for person in people:
            await hub.intake.submit_registration(DEMO, RegistrationRequest.model_validate(person))
        references = [p["reference"] for p in people]
        rounds = {"n": 0}

        async def recorded_once_space_is_freed(consumer: Any) -> bool:
            nonlocal dropped
            rounds["n"] += 1
            if rounds["n"] == 30:  # about 3 s of a full disk with the consumer running
                assert consumer.stats.dead_lettered == 0
                await admin.execute(f"DROP TRIGGER {trigger} ON members")
                dropped = True
            statuses = await admin.fetch(
                "SELECT status FROM partner_requests WHERE reference = ANY($1)", references
            )
            return [r["status"] for r in statuses] == ["recorded"] * len(people)

        consumer = await _run_consumer_until(hub, recorded_once_space_is_freed)
        assert rounds["n"] > 30, "recorded only after the space was freed"
        assert (consumer.stats.recorded, consumer.stats.dead_lettered) == (6, 0)
        letters = await read_topic(
            settings.kafka_bootstrap_servers, settings.kafka_dead_letter_topic
        )
        assert not [
            r for r in letters if any(p["reference"].encode() in (r.value or b"") for p in people)
        ]
    finally:
        await hub.publisher.stop()
        await hub.engine.dispose()
        if not dropped:
            await admin.execute(f"DROP TRIGGER {trigger} ON members")
        await admin.execute(f"DROP FUNCTION {trigger}()")
        await admin.close()


async def test_a_postgresql_outage_is_waited_out_by_the_consumer_and_nothing_is_lost(
    settings: Settings, database_url: str, pg_proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    direct = build(settings, settings.kafka_bootstrap_servers)
    await direct.publisher.start()
    people = [applicant() for _ in range(20)]
    for person in people:
        await direct.intake.submit_registration(DEMO, RegistrationRequest.model_validate(person))
    await direct.publisher.stop()
    await direct.engine.dispose()

    proxied = build(
        settings.model_copy(update={"database_url": _through(pg_proxy, database_url)}),
        settings.kafka_bootstrap_servers,
    )
    await pg_proxy.cut()
    references = [p["reference"] for p in people]
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    waited = {"rounds": 0}

    async def recorded_after_outage(_: Any) -> bool:
        waited["rounds"] += 1
        if waited["rounds"] == 30:  # about 3 s of outage with the consumer running
            await pg_proxy.restore()
        count = await admin.fetchval(
            "SELECT count(*) FROM partner_requests WHERE reference = ANY($1) "
            "AND status = 'recorded'",
            references,
        )
        return bool(count == len(people))

    try:
        with caplog.at_level(logging.WARNING, logger="hub.kafka.consumer"):
            await _run_consumer_until(proxied, recorded_after_outage)
    finally:
        await admin.close()
        await proxied.engine.dispose()
    assert waited["rounds"] > 30, "recorded only after the store came back"
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.kafka.consumer"]
    assert sum("unavailable, waiting it out" in line for line in lines) == 1, lines
    assert sum("available again" in line for line in lines) == 1, lines


async def test_a_delivery_leased_by_a_crashed_dispatcher_is_delivered_after_its_lease(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    clock = Clock()
    try:
        async with callback_server() as server:
            delivery_id = await queue_callback(
                engine, server.url, f"LEASE-{uuid.uuid4().hex[:6]}", clock.now
            )
            crashed = CallbackDispatcher(engine, {"callme": "callme-secret"}, POLICY, clock)
            leased = await crashed._lease(POLICY.concurrency)  # then it dies, attempting nothing
            assert delivery_id in [d.id for d in leased]
            survivor = CallbackDispatcher(engine, {"callme": "callme-secret"}, POLICY, clock)
            await survivor.deliver_due()
            assert server.received == [], "still leased by the crashed dispatcher"
            clock.now += LEASE + timedelta(seconds=1)
            await survivor.deliver_due()
            assert len(server.received) == 1
        assert (await delivery_state(engine, delivery_id))[0] == "delivered"
    finally:
        await engine.dispose()


async def test_the_dispatcher_waits_out_a_postgresql_outage_and_delivers_afterwards(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    direct = create_engine(database_url)
    proxied = create_engine(_through(pg_proxy, database_url))
    clock = Clock()
    clock.now += timedelta(days=400)  # due only on this test's clock
    try:
        async with callback_server() as server:
            await pg_proxy.cut()
            stop = asyncio.Event()
            dispatcher = CallbackDispatcher(proxied, {"callme": "callme-secret"}, POLICY, clock)
            task = asyncio.create_task(dispatcher.run(stop))
            await asyncio.sleep(1.0)
            assert not task.done(), "the dispatcher stopped on a store outage"
            await queue_callback(direct, server.url, f"OUTAGE-{uuid.uuid4().hex[:6]}", clock.now)
            await pg_proxy.restore()
            async with asyncio.timeout(30):
                while not server.received:
                    await asyncio.sleep(0.05)
            stop.set()
            await task
    finally:
        await direct.dispose()
        await proxied.dispose()


RETRY_CODES = {
    "pos": {"91"},
    "brilink": {"91"},
    "indomaret": {"91"},
    "alfamart": {"0901"},
    "bni46": {"91"},
}


@pytest.mark.parametrize("slug", ["pos", "brilink", "indomaret", "alfamart", "bni46", "bank"])
async def test_postgresql_down_at_intake_answers_each_channels_try_again_code(
    slug: str, settings: Settings, database_url: str, pg_proxy: TcpProxy
) -> None:
    engine = create_engine(_through(pg_proxy, database_url))
    driver = importlib.import_module(f"tests.channels.{slug}.driver").DRIVER
    sample = next(s for s in samples(slug) if s.operation == "registration")
    try:
        async with world(ledger=SqlRequestLedger(engine), settings=settings) as w:
            await pg_proxy.cut()
            answer = await driver.send(w, "registration", sample.wire)
    finally:
        await engine.dispose()
    if slug == "bank":
        assert answer.code.startswith("504") and answer.code.endswith("00"), answer
    else:
        assert answer.code in RETRY_CODES[slug], answer
    if answer.http_status is not None:
        assert answer.http_status in (200, 503, 504), answer


async def test_postgresql_down_at_the_hub_api_is_a_503_with_retry_after(
    settings: Settings, database_url: str, pg_proxy: TcpProxy
) -> None:
    import httpx

    from tests.support.partner import SignedClient

    hub = build(
        settings.model_copy(update={"database_url": _through(pg_proxy, database_url)}),
        settings.kafka_bootstrap_servers,
    )
    await pg_proxy.cut()
    client = SignedClient("http://hub.test")
    client.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hub.app), base_url="http://hub.test"
    )
    try:
        for response in (
            await client.post("/v1/registrations", applicant()),
            await client.get("/v1/registrations/NOPE-1"),
        ):
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) > 0
            assert response.json()["error"]["code"] == "temporarily_unavailable"
    finally:
        await client.aclose()
        await hub.engine.dispose()


async def test_hub_consume_started_while_postgresql_is_away_waits_for_it_then_consumes(
    settings: Settings, database_url: str, pg_proxy: TcpProxy, tmp_path: Path
) -> None:
    from tests.faults.harness import HubProcess

    env = {
        **broker_env_of(settings),
        "HUB_DATABASE_URL": _through(pg_proxy, database_url),
        "HUB_KAFKA_MEMBER_EVENTS_TOPIC": settings.kafka_member_events_topic,
        "HUB_KAFKA_DEAD_LETTER_TOPIC": settings.kafka_dead_letter_topic,
        "HUB_KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
    }
    await pg_proxy.cut()
    consumer = HubProcess("consume", env, tmp_path, "consume")
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            while "unavailable, waiting it out" not in consumer.log.read_text():
                assert consumer.alive, consumer.log.read_text()[-2000:]
                await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        assert consumer.alive, consumer.log.read_text()[-2000:]
        await pg_proxy.restore()
        hub = build(settings, settings.kafka_bootstrap_servers)
        await hub.publisher.start()
        person = applicant()
        await hub.intake.submit_registration(DEMO, RegistrationRequest.model_validate(person))
        await hub.publisher.stop()
        await hub.engine.dispose()
        admin = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            async with asyncio.timeout(60):
                while (
                    await admin.fetchval(
                        "SELECT status FROM partner_requests WHERE reference = $1",
                        person["reference"],
                    )
                    != "recorded"
                ):
                    await asyncio.sleep(0.2)
        finally:
            await admin.close()
    finally:
        await consumer.stop()
    assert "available again" in consumer.log.read_text()


def broker_env_of(settings: Settings) -> dict[str, str]:
    return {
        "HUB_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "HUB_KAFKA_ENABLE_IDEMPOTENCE": "true" if settings.kafka_enable_idempotence else "false",
    }
