"""Token buckets in PostgreSQL, so every API process of the hub draws from the same ones.

One statement per request: an upsert that refills and takes a token only when
one is there. When PostgreSQL cannot be reached the process falls back to its own
buckets (logged), so an outage of the store never opens the gate completely.
"""

import logging
import time

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.limits.buckets import LocalLimiter
from hub.settings import RateLimit

log = logging.getLogger("hub.limits")

_TAKE = sa.text(
    """
    INSERT INTO rate_limit_buckets AS b (key, tokens, updated_at)
    VALUES (:key, CAST(:burst AS double precision) - 1, clock_timestamp())
    ON CONFLICT (key) DO UPDATE SET
      tokens = LEAST(
        CAST(:burst AS double precision),
        b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)::double precision
          * CAST(:rate AS double precision)
      ) - 1,
      updated_at = clock_timestamp()
    WHERE LEAST(
        CAST(:burst AS double precision),
        b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)::double precision
          * CAST(:rate AS double precision)
      ) >= 1
    RETURNING tokens
    """
)
_LEVEL = sa.text(
    """
    SELECT LEAST(
        CAST(:burst AS double precision),
        tokens + EXTRACT(EPOCH FROM clock_timestamp() - updated_at)::double precision
          * CAST(:rate AS double precision)
      )
    FROM rate_limit_buckets WHERE key = :key
    """
)
_PRUNE = sa.text(
    "DELETE FROM rate_limit_buckets WHERE updated_at < clock_timestamp() - interval '1 hour'"
)
_PRUNE_EVERY_S = 600.0
_WARN_EVERY_S = 60.0


class PostgresLimiter:
    """``Limiter`` over the ``rate_limit_buckets`` table (one row per partner x operation)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._fallback = LocalLimiter()
        self._pruned_at = time.monotonic()
        self._warned_at = -_WARN_EVERY_S

    async def take(self, key: str, limit: RateLimit) -> float:
        params = {"key": key, "burst": limit.burst, "rate": limit.per_s}
        try:
            async with self._engine.begin() as conn:
                taken = (await conn.execute(_TAKE, params)).first()
                if taken is not None:
                    await self._prune(conn)
                    return 0.0
                level = (await conn.execute(_LEVEL, params)).scalar_one_or_none()
        except (SQLAlchemyError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_S:
                self._warned_at = now
                log.warning("rate limits fall back to this process: %s", type(exc).__name__)
            return await self._fallback.take(key, limit)
        tokens = 0.0 if level is None else float(level)
        return max(0.001, (1.0 - tokens) / limit.per_s)

    async def _prune(self, conn: AsyncConnection) -> None:
        now = time.monotonic()
        if now - self._pruned_at >= _PRUNE_EVERY_S:
            self._pruned_at = now
            await conn.execute(_PRUNE)
