"""How a post office agent signs a request: the hub checks it; ``hub upload pos`` and tests sign.

``X-Pos-Signature`` is the lowercase hex HMAC-SHA256, keyed with the agent's
secret, of ``METHOD:path:agent:timestamp:sha256-hex(body)``.
"""

import hashlib
import hmac

AGENT_HEADER = "X-Pos-Agent-Id"
TIMESTAMP_HEADER = "X-Pos-Timestamp"
SIGNATURE_HEADER = "X-Pos-Signature"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(method: str, path: str, agent_id: str, timestamp: str, digest: str) -> str:
    """``METHOD:path:agent:timestamp:sha256-hex(body)``: what ``X-Pos-Signature`` covers."""
    return f"{method.upper()}:{path}:{agent_id}:{timestamp}:{digest}"


def sign(secret: str, method: str, path: str, agent_id: str, timestamp: str, digest: str) -> str:
    """Lowercase hex HMAC-SHA256 of the string to sign, keyed with the agent's secret."""
    message = string_to_sign(method, path, agent_id, timestamp, digest).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    agent_id: str, secret: str, method: str, path: str, body: bytes, timestamp: str
) -> dict[str, str]:
    """The three headers an agent sends with ``body``."""
    return {
        AGENT_HEADER: agent_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, method, path, agent_id, timestamp, body_digest(body)),
    }
