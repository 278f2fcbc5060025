"""Settlement: each partner's business day, its cut-off, closing a day, the hub's statement."""
