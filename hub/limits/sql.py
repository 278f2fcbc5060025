"""Token buckets in PostgreSQL, so every API process of the hub draws from the same ones.

The takes of concurrent requests are group-committed: one statement per batch
refills every bucket named in it and takes as many tokens as there are (up to the
number of requests for that bucket), all under the row's lock, so several processes
see one bucket. A busy bucket is asked for its recent demand on top, a lease that
this process's next requests spend without a round trip (``hub.limits.leases``). When
PostgreSQL cannot be reached the process falls back to its own buckets (logged), so an
outage of the store never opens the gate completely.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.limits.buckets import LocalLimiter
from hub.limits.leases import Leases
from hub.settings import RateLimit
from hub.store.database import autocommitted
from hub.store.group_commit import GroupCommitter
from hub.store.outage import RECONNECTED

log = logging.getLogger("hub.limits")

_TAKE = sa.text(
    """
    WITH v AS (
      SELECT * FROM unnest(CAST(:keys AS varchar[]), CAST(:wanted AS int[]),
        CAST(:bursts AS double precision[]), CAST(:rates AS double precision[]))
        AS v(key, wanted, burst, rate)
    ),
    cur AS (
      SELECT b.key, v.wanted, clock_timestamp() AS at,
        LEAST(v.burst, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp()
          - b.updated_at))::double precision * v.rate) AS level
      FROM v JOIN rate_limit_buckets b ON b.key = v.key
      ORDER BY b.key
      FOR UPDATE OF b
    ),
    taken AS (
      UPDATE rate_limit_buckets b
      SET tokens = cur.level - LEAST(cur.wanted, floor(cur.level)), updated_at = cur.at
      FROM cur WHERE b.key = cur.key AND cur.level >= 1
      RETURNING b.key
    ),
    born AS (
      INSERT INTO rate_limit_buckets AS b (key, tokens, updated_at)
      SELECT v.key, v.burst - LEAST(v.wanted, floor(v.burst)), clock_timestamp() FROM v
      WHERE NOT EXISTS (SELECT 1 FROM cur WHERE cur.key = v.key)
      ORDER BY v.key
      ON CONFLICT (key) DO NOTHING
      RETURNING b.key
    )
    SELECT cur.key, LEAST(cur.wanted, floor(cur.level))::int AS granted, cur.level FROM cur
    UNION ALL
    SELECT v.key, LEAST(v.wanted, floor(v.burst))::int, v.burst FROM v JOIN born USING (key)
    """
)
"""A refused request leaves its bucket as it was (no token is owed). Buckets are locked in
key order, so two processes' batches never deadlock. A bucket another process created
while this statement ran is missing from the answer; its requests are taken again."""
_PRUNE = sa.text(
    "DELETE FROM rate_limit_buckets WHERE updated_at < clock_timestamp() - interval '1 hour'"
)
_PRUNE_EVERY_S = 600.0
_WARN_EVERY_S = 60.0

_Take = tuple[str, RateLimit]


class PostgresLimiter:
    """``Limiter`` over the ``rate_limit_buckets`` table (one row per partner x operation)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._fallback = LocalLimiter(clock)
        self._leases = Leases()
        self._pruned_at = clock()
        self._warned_at = -_WARN_EVERY_S
        self._takes: GroupCommitter[_Take, float] = GroupCommitter(self._take_batch, in_flight=2)

    async def take(self, key: str, limit: RateLimit) -> float:
        if self._leases.spend(key, self._clock()):
            return 0.0
        return await self._takes.submit((key, limit))

    async def _take_batch(self, takes: list[_Take]) -> list[float]:
        wanted: dict[str, list[int]] = defaultdict(list)
        for i, (key, _) in enumerate(takes):
            wanted[key].append(i)
        waits = [0.0] * len(takes)

        async def take() -> dict[str, list[int]]:
            # Each statement is atomic on its own (its row locks last as long as it
            # does), so no transaction around them: one round trip a batch.
            async with autocommitted(self._engine) as conn:
                left = dict(wanted)
                for _ in range(2):  # once more for buckets born meanwhile elsewhere
                    if not left:
                        break
                    left = await self._take_from(conn, takes, left, waits)
                await self._prune(conn)
            return left

        try:
            left = await RECONNECTED.run(take)
            for indices in left.values():  # pragma: no cover - created and gone in between
                for i in indices:
                    waits[i] = await self._fallback.take(*takes[i])
        except (SQLAlchemyError, OSError) as exc:
            now = self._clock()
            if now - self._warned_at >= _WARN_EVERY_S:
                self._warned_at = now
                log.warning("rate limits fall back to this process: %s", type(exc).__name__)
            return [await self._fallback.take(key, limit) for key, limit in takes]
        return waits

    async def _take_from(
        self,
        conn: AsyncConnection,
        takes: list[_Take],
        wanted: dict[str, list[int]],
        waits: list[float],
    ) -> dict[str, list[int]]:
        """Take for ``wanted`` (key -> request indices, in arrival order); fill ``waits``.

        Each bucket is asked for its requests plus a lease; what is granted beyond the
        requests is leased to this process.
        """
        keys = sorted(wanted)
        limits = [takes[wanted[k][0]][1] for k in keys]
        rows = await conn.execute(
            _TAKE,
            {
                "keys": keys,
                "wanted": [
                    len(wanted[k]) + self._leases.wanted_ahead(k, limit)
                    for k, limit in zip(keys, limits, strict=True)
                ],
                "bursts": [float(limit.burst) for limit in limits],
                "rates": [float(limit.per_s) for limit in limits],
            },
        )
        now = self._clock()
        answered: set[str] = set()
        for key, granted, level in rows:
            answered.add(key)
            indices = wanted[key]
            limit = takes[indices[0]][1]
            self._leases.grant(key, granted - len(indices), now)
            # The first ``granted`` requests pass; the rest wait for the next token.
            wait = max(0.001, (1.0 - (float(level) - granted)) / limit.per_s)
            for i in indices[granted:]:
                waits[i] = wait
        return {k: v for k, v in wanted.items() if k not in answered}

    async def _prune(self, conn: AsyncConnection) -> None:
        now = self._clock()
        if now - self._pruned_at >= _PRUNE_EVERY_S:
            self._pruned_at = now
            self._leases.forget_idle(now)
            await conn.execute(_PRUNE)
