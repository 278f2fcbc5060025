"""Indomaret: placeholder until its protocol lands (see docs/channels/indomaret.md)."""

from adapters.base import ChannelAdapter, ChannelOptions


class IndomaretAdapter(ChannelAdapter[ChannelOptions]):
    slug = "indomaret"
    title = "Indomaret"


ADAPTER = IndomaretAdapter
