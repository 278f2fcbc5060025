"""SNAP BI (Bank Indonesia's Standar Nasional Open API Pembayaran) security primitives.

Two signatures, as the standard defines them:

- the B2B access-token request is signed by the bank with its RSA private key:
  ``X-SIGNATURE`` = base64 SHA256withRSA (PKCS#1 v1.5) over ``client_key + "|" + X-TIMESTAMP``;
- every transaction is signed with the client secret: ``X-SIGNATURE`` = base64
  HMAC-SHA512(secret, ``METHOD:path:accessToken:sha256hex(minify(body)):X-TIMESTAMP``).

Access tokens are not stored anywhere: a token carries its client key and expiry and is
signed with the hub's token key, so every hub process that shares that key accepts it.
"""

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_JSON_WHITESPACE = frozenset(b" \t\n\r")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}:[0-9]{2}|Z)"
)
_TOKEN_PURPOSE = b"snap-b2b-access-token"


def minify_json(body: bytes) -> bytes:
    """The body without whitespace outside string literals, as SNAP's ``Minify`` means it.

    Works on the raw bytes rather than re-serialising parsed JSON, so number spelling,
    key order and escapes stay exactly as the bank wrote them (the bank hashes those).
    """
    out = bytearray()
    in_string = escaped = False
    for byte in body:
        if in_string:
            out.append(byte)
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte not in _JSON_WHITESPACE:
            out.append(byte)
            in_string = byte == _QUOTE
    return bytes(out)


def body_digest(body: bytes) -> str:
    """Lowercase hex SHA-256 of the minified body."""
    return hashlib.sha256(minify_json(body)).hexdigest()


def transaction_string_to_sign(
    method: str, path: str, access_token: str, body: bytes, timestamp: str
) -> str:
    return f"{method.upper()}:{path}:{access_token}:{body_digest(body)}:{timestamp}"


def transaction_signature(
    secret: str, method: str, path: str, access_token: str, body: bytes, timestamp: str
) -> str:
    """Base64 HMAC-SHA512 of the transaction's string to sign, keyed with the client secret."""
    message = transaction_string_to_sign(method, path, access_token, body, timestamp)
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def transaction_signature_matches(
    secret: str,
    method: str,
    path: str,
    access_token: str,
    body: bytes,
    timestamp: str,
    signature: str,
) -> bool:
    given = _b64decode(signature)
    if given is None:
        return False
    expected = base64.b64decode(
        transaction_signature(secret, method, path, access_token, body, timestamp)
    )
    return hmac.compare_digest(expected, given)


def token_string_to_sign(client_key: str, timestamp: str) -> bytes:
    return f"{client_key}|{timestamp}".encode()


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    """A bank's RSA public key from PEM; ``ValueError`` if it is not one."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def token_request_signature_matches(
    public_key: rsa.RSAPublicKey, client_key: str, timestamp: str, signature: str
) -> bool:
    """Was ``client_key|timestamp`` signed SHA256withRSA by the holder of ``public_key``?"""
    given = _b64decode(signature)
    if given is None:
        return False
    try:
        public_key.verify(
            given, token_string_to_sign(client_key, timestamp), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True


def parse_timestamp(value: str) -> datetime | None:
    """``X-TIMESTAMP`` (ISO 8601 with a UTC offset, e.g. 2026-03-10T09:00:00+07:00), or None."""
    if not _TIMESTAMP.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class AccessTokens:
    """Issues and checks B2B access tokens: ``b64(client key).expiry.b64(HMAC)``.

    The HMAC (SHA-256, keyed with the hub's token key) covers the client key and the
    expiry, so a token is bound to one client, cannot be extended, and is accepted by
    any hub process configured with the same key, with nothing to share at run time.
    """

    def __init__(self, key: bytes, ttl_s: int) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def issue(self, client_key: str, now: datetime) -> str:
        expiry = int(now.timestamp()) + self.ttl_s
        return f"{_b64url(client_key.encode())}.{expiry}.{_b64url(self._mac(client_key, expiry))}"

    def client_key_of(self, token: str, now: datetime) -> str | None:
        """The client key a valid, unexpired token was issued to; None for anything else."""
        parts = token.split(".")
        if len(parts) != 3 or not re.fullmatch(r"[0-9]{1,12}", parts[1]):
            return None
        raw_client, raw_expiry, raw_mac = parts
        client_bytes, mac = _b64url_decode(raw_client), _b64url_decode(raw_mac)
        if client_bytes is None or mac is None:
            return None
        try:
            client_key = client_bytes.decode()
        except UnicodeDecodeError:
            return None
        expiry = int(raw_expiry)
        if not hmac.compare_digest(self._mac(client_key, expiry), mac):
            return None
        return client_key if now.timestamp() < expiry else None

    def _mac(self, client_key: str, expiry: int) -> bytes:
        message = b"\x1f".join((_TOKEN_PURPOSE, client_key.encode(), str(expiry).encode()))
        return hmac.new(self._key, message, hashlib.sha256).digest()


def _b64decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(value: str) -> bytes | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
