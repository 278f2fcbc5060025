"""How BRI's host signs a BRILink request (``BRI-Timestamp``, ``BRI-Signature``).

``BRI-Signature`` is base64 HMAC-SHA256, keyed with the partner's secret, of
``path=..&verb=..&clientId=..&timestamp=..&body=<raw body>``; ``BRI-Timestamp`` is
ISO 8601 with its zone. Checked by the channel kit (``hub.channels.signatures``).
"""

from datetime import datetime

from hub.channels.signatures import (
    BASE64_SHA256,
    SignedMessage,
    as_sent,
    base64_hmac_sha256,
    in_headers,
)
from hub.intake.model import Partner

CLIENT_ID_HEADER = "BRI-Client-Id"
TIMESTAMP_HEADER = "BRI-Timestamp"
SIGNATURE_HEADER = "BRI-Signature"


def string_to_sign(path: str, verb: str, client_id: str, timestamp: str, body: bytes) -> bytes:
    """What BRI's host signs: ``path=..&verb=..&clientId=..&timestamp=..&body=<raw body>``."""
    head = f"path={path}&verb={verb.upper()}&clientId={client_id}&timestamp={timestamp}&body="
    return head.encode() + body


def sign(secret: str, path: str, verb: str, client_id: str, timestamp: str, body: bytes) -> str:
    """The ``BRI-Signature`` of a request: base64 of HMAC-SHA256(secret, string to sign)."""
    return base64_hmac_sha256(secret, string_to_sign(path, verb, client_id, timestamp, body))


def _sent_at(value: str, partner: Partner) -> datetime:
    """``BRI-Timestamp``: ISO 8601 with a zone, e.g. ``2026-03-10T02:00:00.000Z``."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{TIMESTAMP_HEADER} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{TIMESTAMP_HEADER} must carry its zone (Z or +07:00)")
    return parsed


def _signed(message: SignedMessage) -> bytes:
    claim = message.claim
    return string_to_sign(
        message.path, message.method, claim.partner_id, claim.timestamp, message.body.bytes
    )


SCHEME = in_headers(
    (CLIENT_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER),
    BASE64_SHA256,
    _sent_at,
    _signed,
    mac=base64_hmac_sha256,
    normalise=as_sent,
    unknown_partner=lambda client_id: f"unknown {CLIENT_ID_HEADER}",
    mismatch=f"{SIGNATURE_HEADER} does not match",
)
"""A captured request replayed later is refused; within the window a replay is only a
retry, which journalSeq idempotency answers without doing anything twice."""
