"""A bank's side of the SNAP BI channel: gets a B2B token and signs requests as the bank does.

Written from docs/channels/bank.md with hashlib, hmac and cryptography directly, not
with adapters/bank/snap.py, so that the tests check the adapter against the standard rather
than against itself.

A wire is the request as the bank sends it: its JSON body fields, plus, optionally,
any SNAP header by name (``X-EXTERNAL-ID``, ``X-SIGNATURE``, ``Authorization``...) to
send that value instead of the one the bank would compute. ``None`` leaves a header out.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.channels.kit import WireAnswer, World, answer_of

PARTNER_ID = "mandiri"
"""The test bank: its X-CLIENT-KEY and X-PARTNER-ID (config/test.toml)."""
CLIENT_SECRET = "mandiri-client-secret"
CHANNEL_ID = "95221"
"""SNAP's CHANNEL-ID for mobile banking."""
PARTNER_SERVICE_ID = "    8866"
KEYS = Path(__file__).parent / "keys"
WIB = ZoneInfo("Asia/Jakarta")

PATHS = {
    "access-token": "/snap/v1.0/access-token/b2b",
    "inquiry": "/snap/v1.0/transfer-va/inquiry",
    "payment": "/snap/v1.0/transfer-va/payment",
    "registration": "/snap/v1.0/bpu/registration",
}
HEADERS = frozenset(
    {
        "Authorization",
        "X-TIMESTAMP",
        "X-SIGNATURE",
        "X-CLIENT-KEY",
        "X-PARTNER-ID",
        "X-EXTERNAL-ID",
        "CHANNEL-ID",
    }
)


def private_key(name: str = "bank-private.pem") -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def snap_timestamp(at: datetime) -> str:
    """X-TIMESTAMP as a bank in Jakarta writes it: ``2026-03-10T09:00:00+07:00``."""
    return at.astimezone(WIB).isoformat(timespec="seconds")


def minified(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def token_signature(key: rsa.RSAPrivateKey, client_key: str, timestamp: str) -> str:
    """SHA256withRSA (PKCS#1 v1.5) over ``client_key|X-TIMESTAMP``, base64."""
    message = f"{client_key}|{timestamp}".encode()
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def transaction_signature(
    secret: str, method: str, path: str, token: str, minified_body: bytes, timestamp: str
) -> str:
    """HMAC-SHA512(secret, METHOD:path:token:sha256hex(minified body):X-TIMESTAMP), base64."""
    digest = hashlib.sha256(minified_body).hexdigest()
    message = f"{method}:{path}:{token}:{digest}:{timestamp}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha512).digest()).decode()


def token_headers(at: datetime, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    timestamp = snap_timestamp(at)
    return {
        "Content-Type": "application/json",
        "X-CLIENT-KEY": PARTNER_ID,
        "X-TIMESTAMP": timestamp,
        "X-SIGNATURE": token_signature(key or private_key(), PARTNER_ID, timestamp),
    }


def transaction_headers(
    path: str,
    token: str,
    body: bytes,
    at: datetime,
    external_id: str,
    secret: str = CLIENT_SECRET,
) -> dict[str, str]:
    """What the bank sends with ``body``; ``body`` must already be minified."""
    timestamp = snap_timestamp(at)
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-TIMESTAMP": timestamp,
        "X-SIGNATURE": transaction_signature(secret, "POST", path, token, body, timestamp),
        "X-PARTNER-ID": PARTNER_ID,
        "X-EXTERNAL-ID": external_id,
        "CHANNEL-ID": CHANNEL_ID,
    }


def split_wire(wire: Any) -> tuple[Any, dict[str, Any]]:
    """The body fields and the header overrides of a wire."""
    if not isinstance(wire, dict):
        return wire, {}
    body = {k: v for k, v in wire.items() if k not in HEADERS}
    return body, {k: v for k, v in wire.items() if k in HEADERS}


def _with_overrides(headers: dict[str, str], overrides: dict[str, Any]) -> dict[str, bytes]:
    merged: dict[str, Any] = {**headers, **overrides}
    # Bytes: a garbage override may hold characters httpx would refuse to encode as ASCII.
    return {k: str(v).encode() for k, v in merged.items() if v is not None}


async def access_token(world: World) -> str:
    """The world's bearer token, asked for once per world as a bank caches it."""
    if "bank_token" not in world.extra:
        response = await world.client.post(
            PATHS["access-token"],
            content=minified({"grantType": "client_credentials"}),
            headers=token_headers(world.clock()),
        )
        assert response.status_code == 200, response.text
        world.extra["bank_token"] = response.json()["accessToken"]
    token: str = world.extra["bank_token"]
    return token


def next_external_id(world: World) -> str:
    """A fresh X-EXTERNAL-ID: unique per partner per day, as SNAP requires."""
    n = world.extra.get("bank_external_ids", 0) + 1
    world.extra["bank_external_ids"] = n
    return f"{n:020d}"


class BankDriver:
    slug = "bank"
    operations = ("access-token", "registration", "inquiry", "payment")
    success_codes = frozenset({"2007300", "2009000", "2002400", "2002500"})
    error_codes = frozenset(
        {"4007300", "4007301", "4007302", "4017300", "4000000"}
        | {
            f"{status}{service}{case}"
            for service in ("24", "25", "90")
            for status, case in (
                ("400", "00"),
                ("400", "01"),
                ("400", "02"),
                ("401", "00"),
                ("401", "01"),
                ("404", "12"),
                ("404", "13"),
                ("404", "14"),
                ("404", "18"),
                ("409", "00"),
            )
        }
    )
    system_error_codes = frozenset(
        f"{status}{service}00" for service in ("73", "24", "25", "90") for status in (500, 504)
    )
    optional_fields: Mapping[str, frozenset[str]] = {
        # Header overrides are the harness's: without one the driver signs correctly.
        "access-token": HEADERS,
        "inquiry": HEADERS | {"additionalInfo", "trxDateInit", "channelCode", "sourceBankCode"},
        "payment": HEADERS
        | {"additionalInfo", "channelCode", "flagAdvise", "virtualAccountName", "referenceNo"},
        "registration": HEADERS,
    }
    ignores_unknown_fields: frozenset[str] = frozenset({"access-token", "inquiry", "payment"})

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        body, overrides = split_wire(wire)
        content = minified(body)
        path = PATHS[operation]
        if operation == "access-token":
            headers = token_headers(world.clock())
        else:
            headers = transaction_headers(
                path, await access_token(world), content, world.clock(), next_external_id(world)
            )
        response = await world.client.post(
            path, content=content, headers=_with_overrides(headers, overrides)
        )
        return answer_of(response, "responseCode")


DRIVER = BankDriver()
