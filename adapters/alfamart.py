"""Alfamart: placeholder until its protocol lands (see docs/channels/alfamart.md)."""

from adapters.base import ChannelAdapter, ChannelOptions


class AlfamartAdapter(ChannelAdapter[ChannelOptions]):
    slug = "alfamart"
    title = "Alfamart"


ADAPTER = AlfamartAdapter
