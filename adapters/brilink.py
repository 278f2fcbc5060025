"""Agen BRILink: placeholder until its protocol lands (see docs/channels/brilink.md)."""

from adapters.base import ChannelAdapter, ChannelOptions


class BrilinkAdapter(ChannelAdapter[ChannelOptions]):
    slug = "brilink"
    title = "Agen BRILink"


ADAPTER = BrilinkAdapter
