"""Who is an operator: HTTP Basic for the ops API, a session cookie for the console.

Operators come from config (``[operators.<name>] password_hash``); partners' HMAC keys
mean nothing here, and an operator's session means nothing to the partner API.
"""

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from hub.ops.passwords import verify_password
from hub.settings import OperatorSettings

_CACHE_S = 300.0


class OperatorDirectory:
    """Checks an operator's password against its configured scrypt hash."""

    def __init__(self, operators: Mapping[str, OperatorSettings]) -> None:
        self._operators = dict(operators)
        # A verified password is remembered (as a keyed hash) for a few minutes, so an API
        # client does not pay for scrypt on every call.
        self._key = secrets.token_bytes(32)
        self._recent: dict[str, float] = {}

    def check(self, name: str, password: str) -> bool:
        operator = self._operators.get(name)
        if operator is None:
            # Same cost as a real check: do not tell who exists by timing.
            verify_password(password, _DUMMY_HASH)
            return False
        token = hmac.new(
            self._key, f"{name}\x1f{password}\x1f{operator.password_hash}".encode(), hashlib.sha256
        ).hexdigest()
        now = time.monotonic()
        if self._recent.get(token, 0.0) > now:
            return True
        if not verify_password(password, operator.password_hash):
            return False
        if len(self._recent) > 1000:
            self._recent.clear()
        self._recent[token] = now + _CACHE_S
        return True

    def basic(self, authorization: str | None) -> str | None:
        """The operator named by a valid ``Authorization: Basic`` header, else None."""
        if not authorization or not authorization.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 inside
            return None
        name, sep, password = decoded.partition(":")
        return name if sep and self.check(name, password) else None


_DUMMY_HASH = "scrypt$32768$8$1$00000000000000000000000000000000$" + "00" * 64
