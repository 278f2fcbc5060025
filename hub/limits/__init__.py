"""Rate limits: token buckets per partner and operation, in this process or in PostgreSQL."""
