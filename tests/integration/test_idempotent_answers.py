"""A retry gets the very answer the first attempt got, even after the consumer recorded it."""

import asyncio
from typing import Any

import asyncpg

from hub.bootstrap import build
from hub.intake.model import Partner
from hub.intake.requests import RegistrationRequest
from hub.settings import Settings
from tests.support.people import applicant
from tests.support.store import asyncpg_dsn

DEMO = Partner("demo", "hub-api")
OTHER = Partner("other", "hub-api")


async def _recorded(database_url: str, references: list[str], within_s: float = 60) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with asyncio.timeout(within_s):
            while await conn.fetchval(
                "SELECT count(*) FROM partner_requests WHERE reference = ANY($1) "
                "AND status = 'recorded'",
                references,
            ) < len(references):
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_a_registration_retried_after_it_was_recorded_gets_its_first_answer(
    settings: Settings, database_url: str
) -> None:
    hub = build(settings, settings.kafka_bootstrap_servers)
    await hub.publisher.start()
    consumer = hub.consumer()
    stop = asyncio.Event()
    await consumer.start(stop)
    task = asyncio.create_task(consumer.run(stop))
    try:
        person = applicant()
        first: Any = await hub.intake.submit_registration(
            DEMO, RegistrationRequest.model_validate(person)
        )
        await _recorded(database_url, [person["reference"]])
        retried = await hub.intake.submit_registration(
            DEMO, RegistrationRequest.model_validate(person)
        )
        assert first.kpj is None, "a new member has no KPJ when first accepted"
        assert retried == first

        # The same person through another partner: the member was already recorded, so
        # this registration's answer names the KPJ, then and on every retry.
        again = {**applicant(), **{k: person[k] for k in person if k != "reference"}}
        second: Any = await hub.intake.submit_registration(
            OTHER, RegistrationRequest.model_validate(again)
        )
        await _recorded(database_url, [again["reference"]])
        second_retried = await hub.intake.submit_registration(
            OTHER, RegistrationRequest.model_validate(again)
        )
        assert second.kpj is not None and len(second.kpj) == 11
        assert second_retried == second
    finally:
        stop.set()
        await task
        await consumer.stop()
        await hub.publisher.stop()
        await hub.engine.dispose()
