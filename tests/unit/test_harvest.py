"""Inquiries by NIK: their own bucket, and the harvesting alert (metric + one log line)."""

import logging

import pytest
from prometheus_client import REGISTRY

from hub.errors import RateLimited
from hub.intake.harvest import InquiryWatch
from hub.intake.model import Partner
from hub.intake.requests import InquiryRequest, PaymentRequest
from hub.intake.service import IntakeService
from hub.limits.buckets import LocalLimiter
from hub.settings import RateLimit
from tests.unit.fakes import (
    BALI_WOMAN_NIK,
    NOW,
    FakePublisher,
    InMemoryRequestLedger,
    configured_schedule,
)

DEMO = Partner("demo", "hub-api")


def niks(count: int) -> list[str]:
    """Distinct well-formed NIKs: Bali women born 5 Aug 1990, serials 0001..."""
    return [f"517104450890{n:04d}" for n in range(1, count + 1)]


def watch(clock: list[float], per_s: float = 1000, burst: int = 1000) -> InquiryWatch:
    return InquiryWatch(
        LocalLimiter(clock=lambda: clock[0]),
        lambda _p: RateLimit(per_s=per_s, burst=burst),
        window_s=3600,
        unpaid_niks_alert=50,
        clock=lambda: clock[0],
    )


def alerts(partner: str) -> float:
    value = REGISTRY.get_sample_value("hub_nik_harvest_alerts_total", {"partner": partner})
    return value or 0.0


async def test_inquiries_by_nik_beyond_their_bucket_are_rate_limited() -> None:
    clock = [0.0]
    guard = watch(clock, per_s=1, burst=3)
    for nik in niks(3):
        await guard.inquired("demo", nik)
    with pytest.raises(RateLimited) as refused:
        await guard.inquired("demo", niks(4)[3])
    assert refused.value.retry_after_s == 1
    await guard.inquired("other", niks(4)[3])  # another partner's bucket


async def test_a_partner_inquiring_many_niks_it_never_pays_raises_one_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    guard = watch(clock)
    before = alerts("harvester")
    with caplog.at_level(logging.WARNING, logger="hub.intake.harvest"):
        for nik in niks(120):
            await guard.inquired("harvester", nik)
    assert alerts("harvester") == before + 1
    assert await guard.unpaid("harvester") == 120
    (line,) = [r.getMessage() for r in caplog.records]
    assert "possible NIK harvesting: partner harvester inquired 50 distinct NIKs" in line
    assert not any(nik in caplog.text for nik in niks(120))  # no NIK in clear in the log
    gauge = REGISTRY.get_sample_value("hub_inquired_unpaid_niks", {"partner": "harvester"})
    assert gauge == 120


async def test_inquiries_followed_by_payments_raise_no_alert() -> None:
    clock = [0.0]
    guard = watch(clock)
    before = alerts("honest")
    for nik in niks(200):
        await guard.inquired("honest", nik)
        guard.paid("honest", nik)
        await guard.inquired("honest", nik)  # asking again for the same member is one NIK
        guard.paid("honest", nik)
    assert alerts("honest") == before
    assert await guard.unpaid("honest") == 0


async def test_unpaid_inquiries_older_than_the_window_are_forgotten() -> None:
    clock = [0.0]
    guard = watch(clock)
    for nik in niks(40):
        await guard.inquired("slow", nik)
    clock[0] = 3601.0
    for nik in niks(60)[40:]:
        await guard.inquired("slow", nik)
    assert await guard.unpaid("slow") == 20
    assert alerts("slow") == 0


async def test_intake_checks_the_nik_bucket_only_for_inquiries_by_nik() -> None:
    clock = [0.0]
    guard = watch(clock, per_s=1, burst=1)
    ledger = InMemoryRequestLedger()
    intake = IntakeService(
        ledger, FakePublisher(), configured_schedule(), clock=lambda: NOW, inquiries=guard
    )
    with pytest.raises(Exception, match="no member"):
        await intake.inquiry(InquiryRequest(nik=BALI_WOMAN_NIK, months=1), DEMO)
    with pytest.raises(RateLimited):
        await intake.inquiry(InquiryRequest(nik=BALI_WOMAN_NIK, months=1), DEMO)
    with pytest.raises(Exception, match="no member with payment code"):
        await intake.inquiry(InquiryRequest(payment_code="886600000000017", months=1), DEMO)


async def test_a_payment_through_intake_clears_the_nik_from_the_unpaid_set() -> None:
    from datetime import UTC, datetime

    from tests.unit.fakes import registration_body

    clock = [0.0]
    guard = watch(clock)
    ledger = InMemoryRequestLedger()
    intake = IntakeService(
        ledger, FakePublisher(), configured_schedule(), clock=lambda: NOW, inquiries=guard
    )
    from hub.intake.requests import RegistrationRequest

    await intake.submit_registration(DEMO, RegistrationRequest(**registration_body()))
    bill = await intake.inquiry(InquiryRequest(nik=BALI_WOMAN_NIK, months=1), DEMO)
    assert await guard.unpaid("demo") == 1
    await intake.submit_payment(
        DEMO,
        PaymentRequest(
            reference="PAY-1",
            nik=BALI_WOMAN_NIK,
            months=1,
            amount=bill.amount_due,
            paid_at=datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        ),
    )
    assert await guard.unpaid("demo") == 0
