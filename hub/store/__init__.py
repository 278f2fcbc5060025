"""The membership store (PostgreSQL in production, SQLite for the embedded default)."""
