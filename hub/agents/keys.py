"""The rules of agent credentials: which ids may be issued, and how an agent's key is made.

An agent's key is never stored. The hub derives it when the agent is issued (it is shown
once) and again on every request it verifies::

    key = lowercase hex HMAC-SHA256(agency partner's secret,
                                    "BPU-AGENT-KEY-V1\\n" + agent id + "\\n" + salt)

HMAC verification needs the key itself, so a stored key, or a hash the hub verifies
with, would sign as well as the key does. The table holds only the random ``salt``: with
it alone (a leaked dump) no one can sign; it takes the agency's secret from the hub's
configuration too. A rekey (``hub agents rekey``) draws a new salt: the old key stops
signing at once, and the agent keeps its id. A revoked agent's id is never issued again,
so its key never comes back. Rotating the agency's secret changes every agent's key:
rekey each of them.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection

KEY_LABEL = "BPU-AGENT-KEY-V1"
AGENT_ID = re.compile(r"[a-z0-9][a-z0-9_\-]{2,31}")
"""3 to 32 of a-z 0-9 _ -, starting with a letter or digit: it travels as ``X-Partner-Id``."""


class AgentIdRefused(ValueError):
    """An agent id that cannot be issued."""


def agent_key(agency_secret: str, agent_id: str, salt: str) -> str:
    """The agent's signing key (the "secret" of ``hub.signing``)."""
    message = f"{KEY_LABEL}\n{agent_id}\n{salt}".encode()
    return hmac.new(agency_secret.encode(), message, hashlib.sha256).hexdigest()


def new_salt() -> str:
    """32 random hex digits: what the table keeps of a key."""
    return secrets.token_hex(16)


def new_agent_id(prefix: str = "agt") -> str:
    """An id for an agent issued without one: ``agt-`` and 10 random hex digits."""
    return f"{prefix}-{secrets.token_hex(5)}"


def check_agent_id(agent_id: str, partner_ids: Collection[str]) -> str:
    """``agent_id`` if it may be issued: well formed, and not the id of a configured partner.

    An agent signs with its id in ``X-Partner-Id``; an id shared with a partner would make
    the header name two credentials.
    """
    if not AGENT_ID.fullmatch(agent_id):
        raise AgentIdRefused(
            f"agent id {agent_id!r}: 3 to 32 of a-z 0-9 _ -, starting with a letter or digit"
        )
    if agent_id in partner_ids:
        raise AgentIdRefused(f"agent id {agent_id!r} is a partner's id")
    return agent_id
