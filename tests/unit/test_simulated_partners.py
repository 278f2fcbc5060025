"""The simulator's partners send what their protocol says, and a retry is the same request.

Each partner posts to an httpx transport that keeps what it was sent and answers as the
hub would; the checks read the requests, not the partner's own code.
"""

import asyncio
import hashlib
import hmac
import json
from datetime import date

import httpx
import pytest

from hub.membership.particulars import Particulars
from hub.simulator.partners import (
    Credentials,
    HubApiPartner,
    JsonPartner,
    PerisaiAgent,
    PosPartner,
)

SARI = Particulars(
    nik="5171044508900001",
    full_name="NI MADE SARI",
    birth_date=date(1990, 8, 5),
    sex="F",
    phone="081234567890",
    address="Jl. Raya Ubud 1, Gianyar",
    occupation="pedagang",
)


class Recorded:
    """An httpx transport that keeps every request and accepts it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(202, json={"status": "accepted"})


def _client(recorded: Recorded) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url="http://127.0.0.1:8000", transport=httpx.MockTransport(recorded)
    )


@pytest.mark.parametrize("kind", [HubApiPartner, PosPartner, PerisaiAgent])
async def test_a_retried_payment_carries_the_same_body_as_the_first_one(
    kind: type[JsonPartner],
) -> None:
    recorded = Recorded()
    async with _client(recorded) as http:
        partner = kind(http, Credentials("sim", "sim-secret", {}))
        await partner.pay(SARI, "SIM-P1", 1, 37_800)
        await asyncio.sleep(0.01)  # a retry comes later: its clock has moved on
        await partner.pay(SARI, "SIM-P1", 1, 37_800)
        await partner.pay(SARI, "SIM-P2", 1, 37_800)
    first, retry, other = (r.content for r in recorded.requests)
    assert retry == first
    assert other != first


async def test_a_perisai_agent_signs_version_2_with_its_own_id_and_key() -> None:
    recorded = Recorded()
    async with _client(recorded) as http:
        agent = PerisaiAgent(http, Credentials("prs-bali-0001", "agent-key", {}))
        await agent.register(SARI, "SIM-R1")
    (request,) = recorded.requests
    assert request.url.path == "/v1/registrations"
    assert json.loads(request.content)["reference"] == "SIM-R1"
    headers = request.headers
    assert headers["X-Partner-Id"] == "prs-bali-0001"
    assert headers["X-Signature-Version"] == "2"
    # docs/channels/perisai.md: seven lines, the fifth the (empty) nonce.
    text = "\n".join(
        [
            "BPU-HMAC-SHA256-V2",
            "POST",
            "/v1/registrations",
            "prs-bali-0001",
            headers["X-Timestamp"],
            "",
            hashlib.sha256(request.content).hexdigest(),
        ]
    )
    expected = hmac.new(b"agent-key", text.encode(), hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
