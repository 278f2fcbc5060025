"""Kantor Pos / Agen Pos: placeholder until its protocol lands (see docs/channels/pos.md)."""

from adapters.base import ChannelAdapter, ChannelOptions


class PosAdapter(ChannelAdapter[ChannelOptions]):
    slug = "pos"
    title = "Kantor Pos / Agen Pos"


ADAPTER = PosAdapter
