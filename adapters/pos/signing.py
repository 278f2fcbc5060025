"""How a post office agent signs a request: the hub checks it; ``hub upload pos`` and tests sign.

``X-Pos-Signature`` is the lowercase hex HMAC-SHA256, keyed with the agent's
secret, of ``METHOD:path:agent:timestamp:sha256-hex(body)``.
"""

import hashlib
import hmac
from datetime import datetime

from adapters.pos.wire import REFERENCE_ECHO
from hub.channels.signatures import (
    HEX_SHA256,
    SignedMessage,
    in_headers,
)
from hub.intake.model import Partner

AGENT_HEADER = "X-Pos-Agent-Id"
TIMESTAMP_HEADER = "X-Pos-Timestamp"
SIGNATURE_HEADER = "X-Pos-Signature"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(method: str, path: str, agent_id: str, timestamp: str, digest: str) -> str:
    """``METHOD:path:agent:timestamp:sha256-hex(body)``: what ``X-Pos-Signature`` covers."""
    return f"{method.upper()}:{path}:{agent_id}:{timestamp}:{digest}"


def sign(secret: str, method: str, path: str, agent_id: str, timestamp: str, digest: str) -> str:
    """Lowercase hex HMAC-SHA256 of the string to sign, keyed with the agent's secret."""
    message = string_to_sign(method, path, agent_id, timestamp, digest).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    agent_id: str, secret: str, method: str, path: str, body: bytes, timestamp: str
) -> dict[str, str]:
    """The three headers an agent sends with ``body``."""
    return {
        AGENT_HEADER: agent_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, method, path, agent_id, timestamp, body_digest(body)),
    }


def _sent_at(timestamp: str, partner: Partner) -> datetime:
    """``X-Pos-Timestamp``: ISO 8601 with its UTC offset (the agent's own clock and zone)."""
    try:
        sent_at = datetime.fromisoformat(timestamp)
    except ValueError:
        sent_at = None
    if sent_at is None or sent_at.tzinfo is None:
        raise ValueError(
            f"{TIMESTAMP_HEADER} must be ISO 8601 with its UTC offset, "
            "e.g. 2026-03-10T09:00:00+07:00"
        )
    return sent_at


def _string_to_sign(message: SignedMessage) -> bytes:
    claim = message.claim
    return string_to_sign(
        message.method, message.path, claim.partner_id, claim.timestamp, message.body.sha256_hex
    ).encode()


SCHEME = in_headers(
    (AGENT_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER),
    HEX_SHA256,
    _sent_at,
    _string_to_sign,
    unknown_partner=lambda agent_id: f"unknown agent {agent_id[:REFERENCE_ECHO]!r}",
)
"""The agent's signature as the hub checks it; the body enters only as its SHA-256."""
