"""Agen Perisai (Penggerak Jaminan Sosial Indonesia): the agency's community agents.

The loader finds the channel here by its slug (``[channels.perisai]``). Its agents speak
the hub's own JSON API, each with its own key: docs/channels/perisai.md.
"""

from adapters.perisai.adapter import ADAPTER, PerisaiAdapter

__all__ = ["ADAPTER", "PerisaiAdapter"]
