"""Banks (SNAP BI): placeholder until its protocol lands (see docs/channels/bank.md)."""

from adapters.base import ChannelAdapter, ChannelOptions


class BankAdapter(ChannelAdapter[ChannelOptions]):
    slug = "bank"
    title = "Banks (SNAP BI)"


ADAPTER = BankAdapter
