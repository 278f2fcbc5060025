"""An applicant (``tests.support.people``, the hub's field names) in a partner's words.

Each channel's end-to-end test names its partner's form fields once, as a table
(hub field -> partner field), and adds what only its partner sends (its own values,
such as the agent's id, or a field it writes differently).
"""

from collections.abc import Mapping
from typing import Any

KTP_SEX = {"M": "L", "F": "P"}
"""Sex as Indonesian forms write it: L (laki-laki) or P (perempuan)."""


def in_terms(person: Mapping[str, Any], names: Mapping[str, str], **own: Any) -> dict[str, Any]:
    """``person``'s fields under the partner's ``names``, then the partner's ``own`` fields."""
    return {partner: person[hub] for hub, partner in names.items()} | own
