"""Indomaret's side of the channel: signs and sends messages as Indomaret's host does.

Written from docs/channels/indomaret.md, not from the adapter, so that the tests
check the adapter against the documented protocol rather than against itself.
"""

import hashlib
import hmac
from datetime import datetime

from tests.channels.kit import WIB, SignedJsonDriver, store_host_paths

CLIENT_ID = "indomaret"
SECRET = "indomaret-secret"


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


DRIVER = SignedJsonDriver(
    slug="indomaret",
    paths=store_host_paths("indomaret"),
    sign=lambda path, body, at, **signing: signed_headers(body, at, **signing),
    code_field="RC",
    success_codes=frozenset({"00"}),
    error_codes=frozenset({"05", "12", "13", "14", "25", "30", "63", "88", "91", "94", "95"}),
    system_error_codes=frozenset({"96"}),
    optional_fields={
        "inquiry": frozenset({"JumlahBulan", "NoTransaksi", "KodeToko"}),
        "reversal": frozenset({"KodeToko", "Alasan"}),
    },
)
post = DRIVER.post
"""Send one Indomaret message signed at ``at``; ``signing`` overrides client id or secret."""
