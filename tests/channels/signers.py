"""Sign a request as any partner in any channel's own scheme (for authorization tests).

Each channel's scheme is the one its driver uses; the known answers of every
scheme are pinned separately in ``tests/unit/test_known_answers.py``.
"""

import hashlib
import hmac
from datetime import datetime

from tests.channels.alfamart import driver as alfamart
from tests.channels.bank import driver as bank
from tests.channels.brilink import driver as brilink
from tests.channels.indomaret import driver as indomaret
from tests.channels.pos import driver as pos

ROUTES = {
    "hub-api": "/v1/registrations",
    "pos": "/pos/v1/pendaftaran",
    "brilink": "/brilink/v1/registration",
    "bni46": "/bni46/v1/registrations",
    "indomaret": "/indomaret/v1/registration",
    "alfamart": "/alfamart/v1/registration",
    "bank": "/snap/v1.0/bpu/registration",
}
"""One registration route per channel: the route every partner of that channel may use."""


def hub_v2_headers(
    partner_id: str, secret: str, method: str, target: str, body: bytes, timestamp: int
) -> dict[str, str]:
    """Version 2, written out from its definition (docs/security.md)."""
    text = "\n".join(
        [
            "BPU-HMAC-SHA256-V2",
            method,
            target,
            partner_id,
            str(timestamp),
            "",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return {
        "X-Partner-Id": partner_id,
        "X-Timestamp": str(timestamp),
        "X-Signature-Version": "2",
        "X-Signature": hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def signed_as(
    slug: str,
    partner_id: str,
    secret: str,
    path: str,
    body: bytes,
    at: datetime,
    token: str = "not-a-token-of-yours",
) -> dict[str, str]:
    """The headers a partner ``partner_id`` holding ``secret`` would send on ``slug``'s ``path``."""
    if slug in ("hub-api", "bni46"):
        return hub_v2_headers(partner_id, secret, "POST", path, body, int(at.timestamp()))
    if slug == "pos":
        return {
            **pos.signed_headers(partner_id, secret, "POST", path, body, pos.timestamp()),
            "Content-Type": "application/json",
        }
    if slug == "brilink":
        return brilink.signed_headers(path, body, at, client_id=partner_id, secret=secret)
    if slug == "indomaret":
        return indomaret.signed_headers(body, at, client_id=partner_id, secret=secret)
    if slug == "alfamart":
        return alfamart.signed_headers(path, body, at, partner_id=partner_id, secret=secret)
    if slug == "bank":
        headers = bank.transaction_headers(path, token, body, at, "AUTHZ-1", secret=secret)
        return {**headers, "X-PARTNER-ID": partner_id}
    raise ValueError(slug)
