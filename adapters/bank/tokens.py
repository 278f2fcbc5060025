"""SNAP's token desk (service 73): which banks may have a B2B access token, and the tokens.

A bank asks for a token by signing ``client_key|X-TIMESTAMP`` with its RSA private key.
The desk holds every bank partner's public key, loaded once when the channel is built:
a bank without a usable key could never get a token, so the hub refuses to start. It
checks a token request, issues the token and says whose a token is (``snap.AccessTokens``).
"""

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from adapters.bank.signing import SCHEME
from adapters.bank.snap import AccessTokens, load_rsa_public_key, token_request_signature_matches
from adapters.bank.wire import header, snap_timestamp
from hub.errors import Unauthenticated
from hub.settings import PartnerSettings

log = logging.getLogger("hub.channels.bank")


class TokenDesk:
    """Each bank's RSA public key, the signing window, and the hub's access tokens."""

    def __init__(
        self, public_keys: Mapping[str, rsa.RSAPublicKey], tokens: AccessTokens, window_s: int
    ) -> None:
        self._public_keys = dict(public_keys)
        self._tokens = tokens
        self._window_s = window_s

    @classmethod
    def for_banks(
        cls,
        partners: Mapping[str, PartnerSettings],
        token_key: SecretStr | None,
        ttl_s: int,
        window_s: int,
    ) -> "TokenDesk":
        """The desk of these bank partners; ``ValueError`` naming a bank without a usable key.

        Without a ``token_key`` the tokens are signed with a key made now, so only this
        process accepts them.
        """
        public_keys: dict[str, rsa.RSAPublicKey] = {}
        for partner_id, partner in partners.items():
            try:
                public_keys[partner_id] = load_rsa_public_key(partner.public_key or "")
            except ValueError as exc:
                raise ValueError(f"bank partner {partner_id!r}: public_key: {exc}") from None
        if token_key is None:
            log.info("no [channels.bank] token_key: access tokens are valid in this process only")
            key = secrets.token_bytes(32)
        else:
            key = token_key.get_secret_value().encode()
        return cls(public_keys, AccessTokens(key, ttl_s), window_s)

    def knows(self, client_key: str) -> bool:
        return client_key in self._public_keys

    def requester(self, headers: Mapping[str, str], now: datetime) -> str:
        """The bank that signed this token request, in time; ``Unauthenticated`` otherwise.

        Absent headers and a malformed ``X-TIMESTAMP`` are field errors (400), checked first.
        """
        client_key = header(headers, "X-CLIENT-KEY")
        timestamp = header(headers, "X-TIMESTAMP")
        signature = header(headers, "X-SIGNATURE")
        sent_at = snap_timestamp(timestamp)
        public_key = self._public_keys.get(client_key)
        if public_key is None:
            raise Unauthenticated("Unknown client")
        if abs((now - sent_at).total_seconds()) > self._window_s:
            raise Unauthenticated(SCHEME.out_of_window or "")
        if not token_request_signature_matches(public_key, client_key, timestamp, signature):
            raise Unauthenticated("Invalid signature")
        return client_key

    def grant(self, client_key: str, now: datetime) -> dict[str, str]:
        """Service 73's answer fields: a bearer token for ``client_key``, valid from ``now``."""
        return {
            "accessToken": self._tokens.issue(client_key, now),
            "tokenType": "Bearer",
            "expiresIn": str(self._tokens.ttl_s),
        }

    def holder(self, token: str, now: datetime) -> str | None:
        """The bank a valid, unexpired token was issued to; None for anything else."""
        return self._tokens.client_key_of(token, now)
