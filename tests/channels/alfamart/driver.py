"""Alfamart's side of the channel: signs and sends messages as Alfamart's host does.

Written from docs/channels/alfamart.md, not from the adapter, so that the tests
check the adapter against the documented protocol rather than against itself.
"""

import base64
import hashlib
import hmac
from datetime import datetime

from tests.channels.kit import WIB, SignedJsonDriver, store_host_paths

PARTNER_ID = "alfamart"
SECRET = "alfamart-secret"


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


DRIVER = SignedJsonDriver(
    slug="alfamart",
    paths=store_host_paths("alfamart"),
    sign=signed_headers,
    code_field="response_code",
    success_codes=frozenset({"0000"}),
    error_codes=frozenset(
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
    ),
    system_error_codes=frozenset({"0999"}),
    optional_fields={
        "inquiry": frozenset({"months", "trx_id", "store_code"}),
        "reversal": frozenset({"store_code", "reason"}),
    },
)
post = DRIVER.post
"""Send one Alfamart message signed at ``at``; ``signing`` overrides partner id or secret."""
