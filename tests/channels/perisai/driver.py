"""A Perisai agent's phone app: signs the hub API with the agent's own key.

Written from docs/channels/perisai.md ("Signing a request"), not from hub.signing, so
that the tests check the hub against the documented protocol rather than against itself.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from tests.channels.kit import WireAnswer, World

AGENT_ID = "prs-bali-0001"
# The page's example key of prs-bali-0001 (secret perisai-bali-secret, its salt).
AGENT_KEY = "548fa84ccbe760fc8cfb1fc55b39134b00a27a72b1c7e26cf12c2885e0d5765d"

_WRITES = {
    "registration": "/v1/registrations",
    "inquiry": "/v1/payments/inquiry",
    "payment": "/v1/payments",
    "reversal": "/v1/reversals",
}
_READS = {
    "registration_status": "/v1/registrations/",
    "payment_status": "/v1/payments/",
}


def signed_headers(
    method: str, target: str, body: bytes, at: datetime, agent_id: str, key: str
) -> dict[str, str]:
    """The page's version-2 headers: the agent id signs, with the agent's key."""
    timestamp = str(int(at.timestamp()))
    lines = [
        "BPU-HMAC-SHA256-V2",
        method,
        target,
        agent_id,
        timestamp,
        "",
        hashlib.sha256(body).hexdigest(),
    ]
    signature = hmac.new(key.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    return {
        "X-Partner-Id": agent_id,
        "X-Timestamp": timestamp,
        "X-Signature-Version": "2",
        "X-Signature": signature,
        "Content-Type": "application/json",
    }


async def call(
    client: httpx.AsyncClient,
    operation: str,
    wire: Any,
    at: datetime,
    agent_id: str = AGENT_ID,
    key: str = AGENT_KEY,
) -> WireAnswer:
    """Send one operation as the agent and read the answer's code."""
    if operation in _READS:
        reference = wire.get("reference") if isinstance(wire, dict) else wire
        target = _READS[operation] + quote(str(reference), safe="")
        headers = signed_headers("GET", target, b"", at, agent_id, key)
        response = await client.get(target, headers=headers)
    else:
        body = json.dumps(wire).encode()
        target = _WRITES[operation]
        headers = signed_headers("POST", target, body, at, agent_id, key)
        response = await client.post(target, content=body, headers=headers)
    return answer_of(response)


def answer_of(response: httpx.Response) -> WireAnswer:
    """The hub API's code: its ``error.code``, or the HTTP status of a success."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.is_success:
        return WireAnswer(str(response.status_code), response.status_code, body, response.headers)
    code = body["error"]["code"] if isinstance(body, dict) and "error" in body else "?"
    return WireAnswer(code, response.status_code, body, response.headers)


class PerisaiDriver:
    slug = "perisai"
    operations = (*_WRITES, *_READS)
    success_codes = frozenset({"200", "202"})
    error_codes = frozenset(
        {
            "invalid_request",
            "amount_mismatch",
            "unauthenticated",
            "forbidden",
            "not_found",
            "reference_conflict",
            "already_paid",
            "already_reversed",
            "not_reversible",
            "rate_limited",
            "payload_too_large",
            "request_timeout",
        }
    )
    system_error_codes = frozenset({"internal_error", "temporarily_unavailable"})
    optional_fields: Mapping[str, frozenset[str]] = {
        "registration": frozenset({"outlet_id"}),
        "payment": frozenset({"outlet_id"}),
        "reversal": frozenset({"reason"}),
    }
    ignores_unknown_fields: frozenset[str] = frozenset()

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        return await call(world.client, operation, wire, world.clock())


DRIVER = PerisaiDriver()
