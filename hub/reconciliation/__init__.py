"""Reconciliation: a partner's settlement file against the hub's rows of that business day."""
