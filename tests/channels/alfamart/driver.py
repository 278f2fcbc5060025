"""Alfamart's side of the channel: signs and sends messages as Alfamart's host does.

Written from docs/channels/alfamart.md, not from the adapter, so that the tests
check the adapter against the documented protocol rather than against itself.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.channels.kit import WireAnswer, World

PARTNER_ID = "alfamart"
SECRET = "alfamart-secret"
WIB = ZoneInfo("Asia/Jakarta")

OPERATIONS = ("registration", "inquiry", "payment", "advice", "reversal", "status")


def store_time(at: datetime) -> str:
    """A time as Alfamart's host writes it: ISO 8601, seconds, with the WIB offset."""
    return at.astimezone(WIB).isoformat(timespec="seconds")


def signature(secret: str, path: str, timestamp: str, body: bytes) -> str:
    """Base64 HMAC-SHA512 over ``POST``, the path, the timestamp and the body's SHA-256, by line."""
    text = f"POST\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}"
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode(), hashlib.sha512).digest()
    ).decode()


def signed_headers(
    path: str, body: bytes, at: datetime, partner_id: str = PARTNER_ID, secret: str = SECRET
) -> dict[str, str]:
    """The headers Alfamart's host sends with ``body`` on ``POST path`` at ``at``."""
    timestamp = store_time(at)
    return {
        "Content-Type": "application/json",
        "Authorization": f"ALFA {partner_id}:{signature(secret, path, timestamp, body)}",
        "X-Alfa-Timestamp": timestamp,
    }


def answer_of(response: httpx.Response) -> WireAnswer:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    code = body.get("response_code", "") if isinstance(body, dict) else ""
    return WireAnswer(str(code), response.status_code, body)


async def post(
    client: httpx.AsyncClient, operation: str, wire: Any, at: datetime, **signing: str
) -> WireAnswer:
    """Send one Alfamart message signed at ``at``; ``signing`` overrides partner id or secret."""
    path = f"/alfamart/v1/{operation}"
    body = json.dumps(wire).encode()
    response = await client.post(
        path, content=body, headers=signed_headers(path, body, at, **signing)
    )
    return answer_of(response)


class AlfamartDriver:
    slug = "alfamart"
    operations = OPERATIONS
    success_codes = frozenset({"0000"})
    error_codes = frozenset(
        {
            "0101",
            "0102",
            "0103",
            "0104",
            "0105",
            "0106",
            "0107",
            "0201",
            "0202",
            "0301",
            "0302",
            "0901",
        }
    )
    system_error_codes = frozenset({"0999"})
    optional_fields: Mapping[str, frozenset[str]] = {
        "inquiry": frozenset({"months", "trx_id", "store_code"}),
        "reversal": frozenset({"store_code", "reason"}),
    }
    ignores_unknown_fields: frozenset[str] = frozenset()

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        return await post(world.client, operation, wire, world.clock())


DRIVER = AlfamartDriver()
