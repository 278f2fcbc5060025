"""The NIKs each partner inquired and did not pay for, in PostgreSQL, shared by every API process.

NIKs are stored only as keyed BLAKE2b hashes; the key is made once, kept in the
store (``inquiry_hash_key``), and read by every process, so one NIK has one
hash hub-wide while the table alone does not reveal which NIKs were asked. Time
is the database's clock, one clock for every process.

``paid`` is on the payment path, so it costs that path nothing: the deletes are
queued and written together a moment later. A payment whose delete is lost to a
crash leaves one NIK counted as unpaid until the window forgets it.
"""

import asyncio
import hashlib
import logging
import os
import time

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("hub.store.inquiries")

_KEY_ROW = sa.text(
    "INSERT INTO inquiry_hash_key (id, key) VALUES (1, :key) ON CONFLICT (id) DO NOTHING"
)
_KEY = sa.text("SELECT key FROM inquiry_hash_key WHERE id = 1")
_NOTE = sa.text(
    """
    INSERT INTO nik_inquiries (partner_id, nik_hash, inquired_at)
    VALUES (:partner, :digest, clock_timestamp())
    ON CONFLICT (partner_id, nik_hash) DO UPDATE SET inquired_at = EXCLUDED.inquired_at
    """
)
_COUNT = sa.text(
    """
    SELECT count(*) FROM nik_inquiries
    WHERE partner_id = :partner
      AND inquired_at > clock_timestamp() - make_interval(secs => :window)
    """
)
_FORGET = sa.text(
    "DELETE FROM nik_inquiries WHERE partner_id = :partner AND nik_hash = ANY(:digests)"
)
_PRUNE = sa.text(
    "DELETE FROM nik_inquiries"
    " WHERE inquired_at <= clock_timestamp() - make_interval(secs => :window)"
)
_CLAIM_ALERT = sa.text(
    """
    INSERT INTO nik_harvest_alerts AS a (partner_id, alerted_at)
    VALUES (:partner, clock_timestamp())
    ON CONFLICT (partner_id) DO UPDATE SET alerted_at = EXCLUDED.alerted_at
    WHERE a.alerted_at <= clock_timestamp() - make_interval(secs => :window)
    RETURNING 1
    """
)
_FLUSH_AFTER_S = 0.2
_PRUNE_EVERY_S = 600.0


class PostgresUnpaidInquiries:
    """``UnpaidInquiries`` over ``nik_inquiries`` and ``nik_harvest_alerts``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._key: bytes | None = None
        self._pending: dict[str, set[str]] = {}
        """Partner -> NIKs paid for and not yet cleared (in memory only, for a moment)."""
        self._flushing: asyncio.Task[None] | None = None
        self._pruned_at = time.monotonic()

    async def note(self, partner_id: str, nik: str, window_s: float) -> int:
        window = float(window_s)
        async with self._engine.begin() as conn:
            digest = self._hash(nik, await self._key_in(conn))
            await conn.execute(_NOTE, {"partner": partner_id, "digest": digest})
            if time.monotonic() - self._pruned_at >= _PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                await conn.execute(_PRUNE, {"window": window})
            counted = await conn.execute(_COUNT, {"partner": partner_id, "window": window})
            return int(counted.scalar_one())

    def paid(self, partner_id: str, nik: str) -> None:
        self._pending.setdefault(partner_id, set()).add(nik)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def count(self, partner_id: str, window_s: float) -> int:
        await self.flush()
        async with self._engine.connect() as conn:
            counted = await conn.execute(_COUNT, {"partner": partner_id, "window": float(window_s)})
            return int(counted.scalar_one())

    async def claim_alert(self, partner_id: str, window_s: float) -> bool:
        async with self._engine.begin() as conn:
            won = await conn.execute(
                _CLAIM_ALERT, {"partner": partner_id, "window": float(window_s)}
            )
            return won.first() is not None

    async def flush(self) -> None:
        """Write the queued payments' deletes now."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self._engine.begin() as conn:
                key = await self._key_in(conn)
                for partner_id, niks in pending.items():
                    digests = [self._hash(nik, key) for nik in niks]
                    await conn.execute(_FORGET, {"partner": partner_id, "digests": digests})
        except (SQLAlchemyError, OSError) as exc:  # a heuristic never fails a payment
            log.warning("could not clear %d paid NIKs: %s", len(pending), type(exc).__name__)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(_FLUSH_AFTER_S)
        await self.flush()

    async def _key_in(self, conn: AsyncConnection) -> bytes:
        if self._key is None:
            await conn.execute(_KEY_ROW, {"key": os.urandom(16)})
            self._key = bytes((await conn.execute(_KEY)).scalar_one())
        return self._key

    @staticmethod
    def _hash(nik: str, key: bytes) -> bytes:
        return hashlib.blake2b(nik.encode(), key=key, digest_size=16).digest()
