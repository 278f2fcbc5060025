"""How a BNI agent's application signs a JSON request: the hub API's scheme (``hub.signing``).

``X-Partner-Id``, ``X-Timestamp`` (unix seconds) and ``X-Signature`` (hex HMAC-SHA256);
with ``X-Signature-Version: 2`` the signature covers method, path and query, partner,
timestamp, ``X-Nonce`` and the body's SHA-256, otherwise (version 1) only
``timestamp.body``. Checked by the channel kit (``hub.channels.signatures``), with the
hub API's window: 300 s into the past, 30 s into the future.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from hub.channels.signatures import (
    HEX_SHA256,
    SignedMessage,
    in_headers,
)
from hub.errors import Unauthenticated
from hub.intake.model import Partner
from hub.signing import NONCE_HEADER, VERSION_HEADER, string_to_sign_v2

HEADERS = ("X-Partner-Id", "X-Timestamp", "X-Signature")
MAX_FUTURE_S = 30
_NONCE = re.compile(r"[A-Za-z0-9._~\-]{1,64}")


def version(headers: Mapping[str, str], v1_allowed: bool) -> str:
    """The signature version a request claims, "1" or "2" (version 1 only while the
    partner is allowed it), once its ``X-Nonce``, if any, has a nonce's shape."""
    claimed = (headers.get(VERSION_HEADER) or "1").strip()
    if claimed not in ("1", "2"):
        raise Unauthenticated(f"{VERSION_HEADER} must be 1 or 2")
    if claimed == "1" and not v1_allowed:
        raise Unauthenticated(f"sign with version 2 ({VERSION_HEADER}: 2)")
    nonce = headers.get(NONCE_HEADER)
    if nonce is not None and not _NONCE.fullmatch(nonce):
        raise Unauthenticated(f"{NONCE_HEADER} is 1 to 64 of A-Z a-z 0-9 . _ ~ -")
    return claimed


def _sent_at(value: str, partner: Partner) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError("X-Timestamp must be unix seconds") from None


def _signed(message: SignedMessage) -> bytes:
    claim, headers = message.claim, message.headers
    if (headers.get(VERSION_HEADER) or "1").strip() == "2":
        nonce = headers.get(NONCE_HEADER) or ""
        return string_to_sign_v2(
            message.method,
            message.path,
            claim.partner_id,
            claim.timestamp,
            nonce,
            message.body.bytes,
        )
    return claim.timestamp.encode() + b"." + message.body.bytes


SCHEME = in_headers(
    HEADERS,
    HEX_SHA256,
    _sent_at,
    _signed,
    malformed="X-Signature must be 64 hex digits",
    future_s=MAX_FUTURE_S,
)
"""A registration signed by one of the channel's partners, over this request (``path`` is
the path with its query, as version 2 signs it)."""
