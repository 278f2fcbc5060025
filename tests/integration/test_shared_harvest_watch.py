"""The NIK-harvesting watch in PostgreSQL counts a partner once across API processes."""

import logging
import uuid

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.harvest import InquiryWatch
from hub.limits.sql import PostgresLimiter
from hub.settings import RateLimit
from hub.store.inquiries import PostgresUnpaidInquiries

pytestmark = pytest.mark.integration

ROOMY = RateLimit(per_s=10_000, burst=10_000)


def niks(count: int) -> list[str]:
    """Distinct well-formed NIKs: Bali women born 5 Aug 1990, serials 0001..."""
    return [f"517104450890{n:04d}" for n in range(1, count + 1)]


def alerts(partner: str) -> float:
    value = REGISTRY.get_sample_value("hub_nik_harvest_alerts_total", {"partner": partner})
    return value or 0.0


def watches(engines: list[AsyncEngine]) -> list[tuple[InquiryWatch, PostgresUnpaidInquiries]]:
    made = []
    for engine in engines:
        unpaid = PostgresUnpaidInquiries(engine)
        watch = InquiryWatch(
            PostgresLimiter(engine),
            lambda _p: ROOMY,
            window_s=3600,
            unpaid_niks_alert=50,
            unpaid=unpaid,
        )
        made.append((watch, unpaid))
    return made


async def test_a_harvester_spread_over_two_processes_is_counted_once_and_alerted_once(
    engines: list[AsyncEngine], caplog: pytest.LogCaptureFixture
) -> None:
    partner = f"harvest-{uuid.uuid4().hex[:8]}"
    (first, _), (second, _) = watches(engines)
    with caplog.at_level(logging.WARNING, logger="hub.intake.harvest"):
        for i, nik in enumerate(niks(80)):
            await (first if i % 2 else second).inquired(partner, nik)
    # Each process alone saw 40 NIKs, under the threshold of 50: only a shared count alerts.
    assert await first.unpaid(partner) == 80
    assert await second.unpaid(partner) == 80
    assert alerts(partner) == 1
    lines = [r.getMessage() for r in caplog.records if partner in r.getMessage()]
    assert len(lines) == 1 and "inquired 50 distinct NIKs" in lines[0]


async def test_one_nik_asked_in_two_processes_is_one_nik(engines: list[AsyncEngine]) -> None:
    partner = f"asker-{uuid.uuid4().hex[:8]}"
    (first, _), (second, _) = watches(engines)
    await first.inquired(partner, niks(1)[0])
    await second.inquired(partner, niks(1)[0])
    assert await second.unpaid(partner) == 1


async def test_a_payment_in_one_process_clears_an_inquiry_made_in_another(
    engines: list[AsyncEngine],
) -> None:
    partner = f"payer-{uuid.uuid4().hex[:8]}"
    (first, _), (second, second_unpaid) = watches(engines)
    for nik in niks(3):
        await first.inquired(partner, nik)
    second.paid(partner, niks(3)[1])
    await second_unpaid.flush()
    assert await first.unpaid(partner) == 2


async def test_the_store_holds_keyed_hashes_not_niks(engines: list[AsyncEngine]) -> None:
    partner = f"private-{uuid.uuid4().hex[:8]}"
    (first, _), _ = watches(engines)
    nik = niks(1)[0]
    await first.inquired(partner, nik)
    async with engines[0].connect() as conn:
        rows = (
            await conn.execute(
                sa.text("SELECT nik_hash FROM nik_inquiries WHERE partner_id = :p"), {"p": partner}
            )
        ).all()
    (stored,) = [bytes(row[0]) for row in rows]
    assert len(stored) == 16
    assert nik.encode() not in stored and stored != nik.encode()[:16]
