"""Indomaret's side of the channel: signs and sends messages as Indomaret's host does.

Written from docs/channels/indomaret.md, not from the adapter, so that the tests
check the adapter against the documented protocol rather than against itself.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.channels.kit import WireAnswer, World

CLIENT_ID = "indomaret"
SECRET = "indomaret-secret"
WIB = ZoneInfo("Asia/Jakarta")

OPERATIONS = ("registration", "inquiry", "payment", "advice", "reversal", "status")


def host_time(at: datetime) -> str:
    """A time as Indomaret's host writes it: ``yyyyMMddHHmmss`` on the WIB wall clock."""
    return at.astimezone(WIB).strftime("%Y%m%d%H%M%S")


def signature(secret: str, body: bytes, timestamp: str) -> str:
    """Lowercase hex HMAC-SHA256 keyed with the secret, over the raw body then the timestamp."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes, at: datetime, client_id: str = CLIENT_ID, secret: str = SECRET
) -> dict[str, str]:
    """The headers Indomaret's host sends with ``body`` at ``at``."""
    timestamp = host_time(at)
    return {
        "Content-Type": "application/json",
        "X-Indomaret-Client-Id": client_id,
        "X-Indomaret-Timestamp": timestamp,
        "X-Indomaret-Signature": signature(secret, body, timestamp),
    }


def answer_of(response: httpx.Response) -> WireAnswer:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    code = body.get("RC", "") if isinstance(body, dict) else ""
    return WireAnswer(str(code), response.status_code, body)


async def post(
    client: httpx.AsyncClient, operation: str, wire: Any, at: datetime, **signing: str
) -> WireAnswer:
    """Send one Indomaret message signed at ``at``; ``signing`` overrides client id or secret."""
    body = json.dumps(wire).encode()
    response = await client.post(
        f"/indomaret/v1/{operation}", content=body, headers=signed_headers(body, at, **signing)
    )
    return answer_of(response)


class IndomaretDriver:
    slug = "indomaret"
    operations = OPERATIONS
    success_codes = frozenset({"00"})
    error_codes = frozenset({"05", "12", "13", "14", "25", "30", "63", "88", "91", "94", "95"})
    system_error_codes = frozenset({"96"})
    optional_fields: Mapping[str, frozenset[str]] = {
        "inquiry": frozenset({"JumlahBulan", "NoTransaksi", "KodeToko"}),
        "reversal": frozenset({"KodeToko", "Alasan"}),
    }
    ignores_unknown_fields: frozenset[str] = frozenset()

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        return await post(world.client, operation, wire, world.clock())


DRIVER = IndomaretDriver()
