"""Console sessions: a signed, expiring cookie, and a CSRF token bound to it.

The cookie holds ``operator|expires|nonce|mac``; the MAC is HMAC-SHA256 under the
console's session secret, so a session cannot be forged or extended. Every form and
every state-changing call carries ``csrf = HMAC(secret, "csrf|" + nonce)``: another
site can make the browser send the cookie but cannot read or compute the token.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from hub.channels.signatures import signatures_match

COOKIE = "hub_ops_session"


@dataclass(frozen=True, slots=True)
class Session:
    operator: str
    expires: int
    nonce: str


class SessionSigner:
    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, operator: str, now: float | None = None) -> str:
        """A cookie value for a freshly signed-in operator."""
        expires = int((now if now is not None else time.time()) + self._ttl_s)
        body = f"{operator}|{expires}|{secrets.token_hex(16)}"
        return f"{body}|{self._mac(body)}"

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session in ``cookie``, or None if it is missing, forged or expired."""
        if not cookie or cookie.count("|") != 3:
            return None
        operator, expires, nonce, mac = cookie.split("|")
        if not signatures_match(self._mac(f"{operator}|{expires}|{nonce}"), mac):
            return None
        if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
            return None
        return Session(operator, int(expires), nonce)

    def csrf_token(self, session: Session) -> str:
        return self._mac(f"csrf|{session.nonce}")

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return token is not None and signatures_match(self.csrf_token(session), token)
