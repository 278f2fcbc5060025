"""The fault suite: break one thing while partners send, then count acknowledged vs stored.

Every case prints one row (sent, 2xx, recorded, lost, doubled, non-2xx by code, time to
recover) and appends it to var/faults/results.md. Target in every case: 0 lost, 0 doubled,
no 500. ``make test`` runs the cases marked ``faults``; ``make faults`` runs them all.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from hub.broker import ApacheKafka, Broker, TansuBroker
from hub.settings import KAFKA_LIBS
from tests.faults.harness import (
    Count,
    HubProcess,
    Stage,
    count,
    partner,
    people,
    stage_env,
)
from tests.faults.private_postgres import PrivatePostgres
from tests.support.people import applicant
from tests.support.store import fresh_database


def _no_server_errors(codes: dict[str, int]) -> None:
    assert not [c for c in codes if c.isdigit() and int(c) >= 500 and c != "503"], codes


NO_REDRIVE_S = 3600
"""Longer than any case: the re-drive never acts."""

Fault = Callable[[Stage], Awaitable[float]]
"""Breaks something while the partner sends; returns (monotonic) when the fault is over."""


async def _case(
    name: str,
    broker: tuple[str, bool],
    database_url: str,
    tmp_path: Path,
    fault: Fault,
    *,
    journeys: int = 150,
    concurrency: int = 16,
    consumers: int = 1,
    budget_s: float = 180.0,
    **env: str,
) -> Count:
    """Run ``hub api`` and ``consumers`` x ``hub consume`` on (bootstrap, idempotence), send
    ``journeys`` people while ``fault`` runs, count, and hold the case to 0 lost, 0 doubled
    and no server error other than a 503.

    The broker keeps its log through every one of these faults, so nothing may depend on
    the re-drive: it is held off for longer than the case lasts, and an event the consumer
    skipped is counted lost instead of being published again behind its back (case f is
    the re-drive's own check)."""
    env = {"HUB_REDRIVE_AFTER_S": str(NO_REDRIVE_S), **env}
    stage = Stage(stage_env(*broker, database_url, **env), database_url, tmp_path)
    try:
        await stage.hub("api").start()
        for _ in range(consumers):
            await stage.hub("consume").start()
        async with partner([stage.processes[0].url], budget_s=budget_s) as client:
            load = asyncio.create_task(client.run(people(journeys), concurrency))
            ended = await fault(stage)
            await load
        result = await count(name, client.tally, database_url, ended)
    finally:
        await stage.stop_all()
    assert (result.lost, result.doubled) == ([], 0), result.line()
    _no_server_errors(client.tally.codes)
    return result


def _on(broker: Broker) -> tuple[str, bool]:
    return broker.bootstrap_servers, broker.idempotence


Restart = Callable[[Stage, HubProcess], Awaitable[None]]
"""Brings a hub back after one of its processes was killed."""


def _sigkill(index: int, after_s: float, back: Restart | None = None, back_s: float = 0.0) -> Fault:
    """SIGKILL the stage's process ``index`` ``after_s`` into the load, then (if ``back``)
    bring a hub back ``back_s`` later; the fault is over once that is done."""

    async def fault(stage: Stage) -> float:
        await asyncio.sleep(after_s)
        killed = stage.processes[index]
        await killed.kill()
        if back is not None:
            await asyncio.sleep(back_s)
            await back(stage, killed)
        return time.monotonic()

    return fault


async def _another_consume(stage: Stage, _: HubProcess) -> None:
    await stage.hub("consume").start()


async def _same_again(_: Stage, killed: HubProcess) -> None:
    await killed.start()  # on the same port: partners keep their configured URL


# Process 0 is ``hub api``, then the ``hub consume`` processes.
SIGKILLED = {
    "a: hub consume killed with SIGKILL mid-batch": (_sigkill(1, 2.0, _another_consume, 2.0), 1),
    "b: hub api killed with SIGKILL mid-stream": (_sigkill(0, 2.0, _same_again, 1.0), 1),
    "g: two consumers, one killed with SIGKILL": (_sigkill(1, 3.0), 2),
}


@pytest.mark.faults
@pytest.mark.parametrize(
    ("name", "fault", "consumers"),
    [(name, *case) for name, case in SIGKILLED.items()],
    ids=[name.replace(":", "").replace(" ", "-") for name in SIGKILLED],
)
async def test_a_hub_process_killed_with_sigkill_loses_and_doubles_nothing(
    broker: Broker,
    database_url: str,
    tmp_path: Path,
    name: str,
    fault: Fault,
    consumers: int,
) -> None:
    await _case(name, _on(broker), database_url, tmp_path, fault, consumers=consumers)


@pytest.mark.faults_slow
async def test_c_postgresql_stopped_for_30_seconds_loses_and_doubles_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    pg = PrivatePostgres()
    await pg.init()
    await pg.start()

    async def fault(stage: Stage) -> float:
        await asyncio.sleep(2.0)
        await pg.stop()
        await asyncio.sleep(30.0)
        assert stage.processes[1].alive, "hub consume exited during the store outage"
        await pg.start()
        return time.monotonic()

    try:
        database_url, _ = await fresh_database(pg.admin_dsn, "hub_faults")
        name = "c: PostgreSQL stopped for 30 s"
        await _case(name, _on(broker), database_url, tmp_path, fault, budget_s=240)
    finally:
        await pg.remove()


@pytest.mark.faults_slow
async def test_d_single_node_kafka_killed_and_restarted_on_its_data_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    kafka = ApacheKafka(tmp_path / "kafka", KAFKA_LIBS, log_file=tmp_path / "kafka.log")
    await kafka.start()

    async def fault(_: Stage) -> float:
        await asyncio.sleep(2.0)
        await kafka.kill()
        await asyncio.sleep(5.0)
        await kafka.start_node(1)
        await kafka.wait_ready()
        return time.monotonic()

    try:
        name = "d: Kafka (1 node) killed with SIGKILL, restarted on its data"
        await _case(
            name, (kafka.bootstrap_servers, True), database_url, tmp_path, fault, budget_s=240
        )
    finally:
        await kafka.stop()


async def _leader_of_most(kafka: ApacheKafka, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    leaders: dict[int, int] = {}
    for partition in described[0]["partitions"]:
        leaders[partition["leader"]] = leaders.get(partition["leader"], 0) + 1
    return max(leaders, key=lambda node: leaders[node])


@pytest.mark.faults_slow
async def test_e_three_node_kafka_losing_its_busiest_leader_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    kafka = ApacheKafka(tmp_path / "kafka", KAFKA_LIBS, nodes=3, log_file=tmp_path / "kafka.log")
    await kafka.start(within_s=180)
    killed: list[int] = []

    async def fault(stage: Stage) -> float:
        await asyncio.sleep(3.0)
        node = await _leader_of_most(kafka, stage.env["HUB_KAFKA_MEMBER_EVENTS_TOPIC"])
        killed.append(node)
        await kafka.kill(node)
        return time.monotonic()

    try:
        name = "e: Kafka (3 nodes, RF 3, min ISR 2) lost its busiest leader"
        await _case(
            name,
            (kafka.bootstrap_servers, True),
            database_url,
            tmp_path,
            fault,
            journeys=200,
            budget_s=240,
            HUB_KAFKA_REPLICATION_FACTOR="3",
        )
    finally:
        await kafka.stop()
    assert killed


@pytest.mark.faults
async def test_f_tansu_killed_and_restarted_empty_is_healed_by_redrive(
    database_url: str, tmp_path: Path
) -> None:
    """Every registration accepted before the kill is recorded within redrive_after_s + 30 s
    of the consumer starting (the consumer was stopped throughout)."""
    tansu = TansuBroker()
    await tansu.start()
    redrive_after_s = 10
    stage = Stage(stage_env(tansu.bootstrap_servers, False, database_url), database_url, tmp_path)
    try:
        api = stage.hub("api")
        await api.start()
        async with partner([api.url]) as client:
            await client.run(people(100), 16)
            await tansu.kill()
            tansu = TansuBroker(port=tansu.port)  # back on its port, with nothing in it
            await tansu.start()
            await asyncio.sleep(10.0)  # the consumer is this far behind when it starts
            await stage.hub("consume").start()
            started = time.monotonic()
        result = await count(
            "f: Tansu killed with SIGKILL, restarted empty, consumer 10 s behind",
            client.tally,
            database_url,
            started,
            within_s=redrive_after_s + 30,
        )
    finally:
        await stage.stop_all()
        await tansu.stop()
    assert (result.lost, result.doubled) == ([], 0)
    assert result.recovered_s is not None and result.recovered_s <= redrive_after_s + 30
    _no_server_errors(client.tally.codes)


@pytest.mark.faults
async def test_h_poison_on_the_topic_is_dead_lettered_within_10_s_and_the_partition_moves_on(
    broker: Broker, database_url: str, tmp_path: Path
) -> None:
    env = stage_env(broker.bootstrap_servers, broker.idempotence, database_url)
    stage = Stage(env, database_url, tmp_path)
    api = stage.hub("api")
    await api.start()
    await stage.hub("consume").start()
    person = applicant()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        async with partner([api.url]) as client:
            # The consumer is up and recording before the poison arrives.
            await client.run(people(10), 4)
            await count("h: warm-up", client.tally, database_url, time.monotonic(), within_s=60)
            # Same key as the registration that follows: same partition, behind the poison.
            await producer.send_and_wait(
                env["HUB_KAFKA_MEMBER_EVENTS_TOPIC"],
                b'{"not": "an event"}',
                key=person["nik"].encode(),
            )
            poisoned = time.monotonic()
            client.tally.niks[person["reference"]] = person["nik"]
            await client.post("/v1/registrations", person, "registration")
            dlq = AIOKafkaConsumer(
                env["HUB_KAFKA_DEAD_LETTER_TOPIC"],
                bootstrap_servers=broker.bootstrap_servers,
                auto_offset_reset="earliest",
                group_id=f"dlq-{uuid.uuid4().hex[:6]}",
            )
            await dlq.start()
            try:
                letters = []
                while not letters and time.monotonic() - poisoned < 10:
                    batch = await dlq.getmany(timeout_ms=500)
                    letters = [m for msgs in batch.values() for m in msgs]
            finally:
                await dlq.stop()
            assert letters, "not dead-lettered within 10 s"
            print(f"\npoison dead-lettered after {time.monotonic() - poisoned:.1f} s")
            result = await count(
                "h: poison produced straight to the topic",
                client.tally,
                database_url,
                poisoned,
                within_s=30,
            )
    finally:
        await producer.stop()
        await stage.stop_all()
    assert dict(letters[0].headers)["error"].startswith(b"not a valid event envelope")
    assert (result.lost, result.doubled) == ([], 0)


@pytest.mark.faults
async def test_i_a_nul_or_control_character_in_a_field_is_refused_at_the_door(
    broker: Broker, database_url: str, tmp_path: Path
) -> None:
    stage = Stage(
        stage_env(broker.bootstrap_servers, broker.idempotence, database_url),
        database_url,
        tmp_path,
    )
    api = stage.hub("api")
    await api.start()
    try:
        async with partner([api.url]) as client:
            for field, text in (
                ("address", "Jl. Melati\u00001"),
                ("occupation", "petani\x1bsawah"),
                ("outlet_id", "K\u0000"),
            ):
                status = await client.post(
                    "/v1/registrations", applicant(**{field: text}), "registration"
                )
                assert status == 422, (field, status)
            async with httpx.AsyncClient() as http:
                body = json.dumps(applicant(address="a\u0000b")).encode()
                answer = await http.post(
                    f"{api.url}/v1/registrations", content=body, headers=client._headers(body)
                )
            assert answer.json()["error"]["fields"][0]["field"] == "address"
            await count(
                "i: a NUL in a field", client.tally, database_url, time.monotonic(), within_s=1
            )
    finally:
        await stage.stop_all()
    assert client.tally.ok == 0
    assert client.tally.codes["422"] == 3


@pytest.mark.faults
async def test_j_256_connections_get_no_500_and_no_deadlock(
    broker: Broker, database_url: str, tmp_path: Path
) -> None:
    logs: list[Path] = []

    async def no_fault(stage: Stage) -> float:
        logs.extend(p.log for p in stage.processes)
        return time.monotonic()

    name = "j: 256 connections at once"
    await _case(name, _on(broker), database_url, tmp_path, no_fault, journeys=512, concurrency=256)
    assert [log for log in logs if "deadlock" in log.read_text()] == []
