"""BRI's side of the BRILink channel: signs and sends messages as BRI's host does.

Written from docs/channels/brilink.md, not from the adapter, so that the tests
check the adapter against the documented protocol rather than against itself.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.channels.kit import WireAnswer, World

CLIENT_ID = "bri"
SECRET = "bri-secret"

PATHS = {
    "registration": "/brilink/v1/registration",
    "registration_status": "/brilink/v1/registration/status",
    "inquiry": "/brilink/v1/inquiry",
    "payment": "/brilink/v1/payment",
    "payment_status": "/brilink/v1/payment/status",
    "reversal": "/brilink/v1/reversal",
}


def bri_timestamp(at: datetime) -> str:
    """``BRI-Timestamp`` as BRI writes it: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def bri_signature(secret: str, path: str, verb: str, client_id: str, ts: str, body: bytes) -> str:
    payload = f"path={path}&verb={verb}&clientId={client_id}&timestamp={ts}&body=".encode() + body
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


def signed_headers(
    path: str,
    body: bytes,
    at: datetime,
    client_id: str = CLIENT_ID,
    secret: str = SECRET,
) -> dict[str, str]:
    """The headers BRI's host sends with ``body`` on ``POST path`` at ``at``."""
    ts = bri_timestamp(at)
    return {
        "BRI-Client-Id": client_id,
        "BRI-Timestamp": ts,
        "BRI-Signature": bri_signature(secret, path, "POST", client_id, ts, body),
        "Content-Type": "application/json",
    }


def answer_of(response: httpx.Response) -> WireAnswer:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    code = body.get("responseCode", "") if isinstance(body, dict) else ""
    return WireAnswer(str(code), response.status_code, body)


async def post(
    client: httpx.AsyncClient, operation: str, wire: Any, at: datetime, **signing: str
) -> WireAnswer:
    """Send one BRILink message signed at ``at``; ``signing`` overrides client id or secret."""
    path = PATHS[operation]
    body = json.dumps(wire).encode()
    response = await client.post(
        path, content=body, headers=signed_headers(path, body, at, **signing)
    )
    return answer_of(response)


class BrilinkDriver:
    slug = "brilink"
    operations = tuple(PATHS)
    success_codes = frozenset({"00"})
    error_codes = frozenset({"12", "13", "14", "25", "30", "31", "63", "88", "91", "94", "95"})
    system_error_codes = frozenset({"96"})
    optional_fields: Mapping[str, frozenset[str]] = {
        "registration": frozenset({"agentId"}),
        "payment": frozenset({"agentId"}),
        "reversal": frozenset({"remark"}),
    }
    ignores_unknown_fields: frozenset[str] = frozenset()

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        return await post(world.client, operation, wire, world.clock())


DRIVER = BrilinkDriver()
