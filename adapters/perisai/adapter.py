"""The Perisai channel: an agency partner whose agents sign the hub API one by one.

Nothing here speaks a wire format of its own. An agent's phone app calls the hub's
``/v1`` routes, signed with version 2 (or 1) of ``hub.signing`` under the agent's own id
and key; the hub knows the agent's agency from the agents operators issue with
``hub agents add``. This channel declares that, and how the agency settles: the
statement's canonical CSV, whose ``agent_id`` column names the agent of each line.
"""

from typing import ClassVar

from hub.channels.base import ChannelAdapter, ChannelOptions
from hub.reconciliation.canonical import CanonicalCsv
from hub.reconciliation.lines import SettlementReader


class PerisaiAdapter(ChannelAdapter[ChannelOptions]):
    """Agen Perisai: registrations and contributions collected by the agency's agents."""

    slug = "perisai"
    title = "Agen Perisai (BPJamsostek community agents)"
    agents_sign_hub_api = True
    settlement_reader: ClassVar[SettlementReader | None] = CanonicalCsv()


ADAPTER = PerisaiAdapter
