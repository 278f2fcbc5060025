"""Request signatures: HMAC-SHA256(partner secret, X-Timestamp + "." + raw body), hex.

The same scheme signs the hub's callbacks to partners. A timestamp outside the
window is refused, so a captured request cannot be replayed later.
"""

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hub.errors import Unauthenticated
from hub.intake.service import Partner
from hub.settings import PartnerSettings


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a partner puts in X-Signature."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignatureVerifier:
    """Checks X-Partner-Id, X-Timestamp and X-Signature against configured partners."""

    partners: Mapping[str, PartnerSettings]
    window_s: int
    clock: Callable[[], float] = field(default=time.time)

    def verify(
        self,
        partner_id: str | None,
        timestamp: str | None,
        signature: str | None,
        body: bytes,
        now: float | None = None,
    ) -> Partner:
        if not partner_id or not timestamp or not signature:
            raise Unauthenticated("X-Partner-Id, X-Timestamp and X-Signature are required")
        partner = self.partners.get(partner_id)
        if partner is None:
            raise Unauthenticated("unknown partner")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise Unauthenticated("X-Timestamp must be unix seconds") from None
        if abs((self.clock() if now is None else now) - sent_at) > self.window_s:
            raise Unauthenticated(f"X-Timestamp is more than {self.window_s} s off the hub's clock")
        expected = sign(partner.secret.get_secret_value(), timestamp, body).encode()
        # Bytes, not str: a header with non-ASCII characters is a bad signature, not a crash.
        given = signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise Unauthenticated("signature does not match")
        return Partner(partner_id, partner.channel, partner.timezone, partner.settlement_cutoff)
