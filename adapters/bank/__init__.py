"""Banks over SNAP BI: ``snap`` (the standard's signatures and tokens), ``wire`` (bodies and
headers), ``codes`` (SNAP's refusal table), ``tokens`` (the token desk: each bank's RSA key
and the access tokens), ``bills`` (the VA bill), ``settlement`` (the banks' transaction
report), ``adapter`` (the routes, through intake)."""

from adapters.bank.adapter import ADAPTER, BankAdapter, BankOptions, BankPartnerOptions

__all__ = ["ADAPTER", "BankAdapter", "BankOptions", "BankPartnerOptions"]
