"""Per-partner, per-day request ids (SNAP BI's X-EXTERNAL-ID), in SQL."""

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.bulk import insert_rows
from hub.store.tables import partner_nonces

KEEP_DAYS = 3
"""Ids older than this many days can no longer collide with a valid request; they are pruned."""


class SqlNonceRegistry:
    """``NonceRegistry`` over the ``partner_nonces`` table (unique on partner, day, nonce)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pruned_through: date | None = None

    async def first_use(self, partner_id: str, day: date, nonce: str) -> bool:
        async with self._engine.begin() as conn:
            inserted = await insert_rows(
                conn,
                partner_nonces,
                [{"partner_id": partner_id, "day": day, "nonce": nonce}],
                skip_conflicts_on=("partner_id", "day", "nonce"),
                returning=("nonce",),
            )
            cutoff = day - timedelta(days=KEEP_DAYS)
            if self._pruned_through is None or self._pruned_through < cutoff:
                await conn.execute(partner_nonces.delete().where(partner_nonces.c.day < cutoff))
                self._pruned_through = cutoff
        return bool(inserted)
