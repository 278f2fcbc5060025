"""BRI's side of the BRILink channel: signs and sends messages as BRI's host does.

Written from docs/channels/brilink.md, not from the adapter, so that the tests
check the adapter against the documented protocol rather than against itself.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from tests.channels.kit import SignedJsonDriver

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


DRIVER = SignedJsonDriver(
    slug="brilink",
    paths=PATHS,
    sign=signed_headers,
    code_field="responseCode",
    success_codes=frozenset({"00"}),
    error_codes=frozenset({"12", "13", "14", "25", "30", "31", "63", "88", "91", "94", "95"}),
    system_error_codes=frozenset({"96"}),
    optional_fields={
        "registration": frozenset({"agentId"}),
        "payment": frozenset({"agentId"}),
        "reversal": frozenset({"remark"}),
    },
)
post = DRIVER.post
"""Send one BRILink message signed at ``at``; ``signing`` overrides client id or secret."""
