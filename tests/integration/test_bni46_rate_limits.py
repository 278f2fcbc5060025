"""BNI 46's switch has per-partner, per-operation rate limits, in PostgreSQL's shared buckets.

The ISO 8583 channel has its own TCP server, so its requests never pass the HTTP edge;
a partner named by field 32 takes a token of the operation (``iso8583-inquiry``,
``iso8583-payment``, ``iso8583-reversal``) before intake is asked. A refusal is BNI's own
"try later", 91, answered on the same connection with the request's STAN and RRN.
"""

import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.limits.sql import PostgresLimiter
from hub.settings import PartnerSettings, RateLimit, Settings, load_settings
from tests.channels.bni46.driver import Switch
from tests.channels.bni46.test_bni46 import adapter, inquiry
from tests.channels.kit import SARI, world

pytestmark = pytest.mark.integration

FLOODER_ACQUIRER = "009"
BYSTANDER_ACQUIRER = "451"
TRY_LATER = "91"


def two_bni_partners(flooder: str, bystander: str) -> Settings:
    """Two BNI 46 partners; the flooder may make 3 inquiries (and no more for ~100 s)."""
    settings = load_settings()
    partners = {pid: p for pid, p in settings.partners.items() if p.channel != "bni46"}
    partners[flooder] = PartnerSettings(
        secret="flooder-secret",
        channel="bni46",
        options={"acquirer_id": FLOODER_ACQUIRER},
        rate_limits={"iso8583-inquiry": RateLimit(per_s=0.01, burst=3)},
    )
    partners[bystander] = PartnerSettings(
        secret="bystander-secret",
        channel="bni46",
        options={"acquirer_id": BYSTANDER_ACQUIRER},
        rate_limits={"iso8583-inquiry": RateLimit(per_s=0.01, burst=3)},
    )
    return settings.model_copy(update={"partners": partners})


def refusals() -> float:
    value = REGISTRY.get_sample_value(
        "hub_edge_refusals_total", {"channel": "bni46", "reason": "rate_limited"}
    )
    return value or 0.0


async def test_a_flooding_switch_partner_hears_91_while_another_partner_is_answered(
    engines: list[AsyncEngine],
) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = two_bni_partners(f"bni-flood-{suffix}", f"bni-calm-{suffix}")
    refused_before = refusals()
    answers = []
    limiter = PostgresLimiter(engines[0])
    async with (
        world(settings=settings, limiter=limiter) as w,
        Switch.connect(adapter(w).port) as switch,
    ):
        for n in range(5):
            answers.append(await switch.ask(inquiry(SARI.nik, stan=f"00010{n}")))
        bystander = await switch.ask(inquiry(SARI.nik, stan="000200", **{"32": BYSTANDER_ACQUIRER}))
        echo = await switch.ask({"t": "0800", "7": "0310020000", "11": "000300", "70": "301"})
    assert [a["39"] for a in answers] == ["00", "00", "00", TRY_LATER, TRY_LATER]
    refused = answers[3]
    assert (refused["t"], refused["11"], refused["37"]) == ("0210", "000103", "606902000103")
    assert bystander["39"] == "00"
    assert echo["39"] == "00"
    assert refusals() - refused_before == 2


async def test_the_switchs_buckets_are_shared_by_every_hub_process(
    engines: list[AsyncEngine],
) -> None:
    suffix = uuid.uuid4().hex[:8]
    settings = two_bni_partners(f"bni-flood-{suffix}", f"bni-calm-{suffix}")
    first, second = (PostgresLimiter(engine) for engine in engines)
    async with (
        world(settings=settings, limiter=first) as w,
        Switch.connect(adapter(w).port) as switch,
    ):
        spent = [(await switch.ask(inquiry(SARI.nik)))["39"] for _ in range(3)]
    async with (
        world(settings=settings, limiter=second) as other_process,
        Switch.connect(adapter(other_process).port) as switch,
    ):
        flooder = await switch.ask(inquiry(SARI.nik))
        bystander = await switch.ask(inquiry(SARI.nik, **{"32": BYSTANDER_ACQUIRER}))
    assert spent == ["00", "00", "00"]
    assert (flooder["39"], bystander["39"]) == (TRY_LATER, "00")
