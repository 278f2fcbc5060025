"""Agen BNI 46: placeholder until its protocol lands (see docs/channels/bni46.md)."""

from adapters.base import ChannelAdapter, ChannelOptions


class Bni46Adapter(ChannelAdapter[ChannelOptions]):
    slug = "bni46"
    title = "Agen BNI 46"


ADAPTER = Bni46Adapter
