"""Agen BNI 46: ISO 8583 over TCP for the switch, signed JSON for agents' registrations.

``iso`` is the dialect, ``messages`` its typed requests, ``tcp`` a framed server that
knows no protocol, ``handlers`` the switch's requests answered through intake,
``json_api`` the registrations, ``settlement`` BNI's daily file, ``adapter`` the whole.
"""

from adapters.bni46.adapter import ADAPTER, Bni46Adapter, Bni46Options, Bni46PartnerOptions

__all__ = ["ADAPTER", "Bni46Adapter", "Bni46Options", "Bni46PartnerOptions"]
