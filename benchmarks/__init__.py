"""Benchmarks against the real hub, Tansu and PostgreSQL.

Each one measures its own baseline in the same run and prints the ratio to it,
because the machine is small (2 cores) and shared: absolute numbers move, ratios
much less.

    python -m benchmarks.ingest   # signed registrations over HTTP vs a bare FastAPI app
    python -m benchmarks.drain    # core consumer drain rate vs a raw asyncpg COPY
"""
