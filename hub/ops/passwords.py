"""Operator passwords, stored only as salted scrypt hashes (``hub ops hash-password``).

Format: ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``; stdlib ``hashlib.scrypt``, so no
native dependency, cost N=2^15, r=8, p=1 (about 0.1 s a check).
"""

import hashlib
import secrets

from hub.channels.signatures import signatures_match

_N, _R, _P = 2**15, 8, 1
_MAXMEM = 128 * _N * _R * 2


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A new hash of ``password`` with a random salt."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False for any malformed hash."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=128 * int(n) * int(r) * 2,
        )
    except (ValueError, TypeError):
        return False
    return signatures_match(digest.hex(), digest_hex)
