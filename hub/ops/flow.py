"""The flow view: per channel and minute, requests accepted and how many are recorded."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.tables import partner_requests


@dataclass(frozen=True, slots=True)
class MinuteFlow:
    minute: str
    """``HH:MM`` UTC."""
    accepted: int
    recorded: int
    rejected: int


async def flow_by_channel(
    engine: AsyncEngine,
    channel_of: Mapping[str, str],
    minutes: int = 15,
    now: datetime | None = None,
) -> dict[str, list[MinuteFlow]]:
    """Requests that arrived in each of the last ``minutes`` minutes, per channel.

    ``accepted`` counts what partners were told was accepted; ``recorded`` and
    ``rejected`` how many of those the core consumer has finished. A gap that stays
    open is work stuck between the broker and the store.
    """
    now = now or datetime.now(UTC)
    start = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    r = partner_requests
    if engine.dialect.name == "postgresql":
        minute = sa.func.to_char(
            sa.func.date_trunc("minute", sa.func.timezone("UTC", r.c.created_at)), "HH24:MI"
        )
    else:
        minute = sa.func.strftime("%H:%M", r.c.created_at)
    query = (
        sa.select(
            r.c.partner_id,
            minute.label("minute"),
            r.c.status,
            sa.func.count().label("n"),
        )
        .where(r.c.created_at >= start, r.c.status != "pending")
        .group_by(r.c.partner_id, sa.literal_column("minute"), r.c.status)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    labels = [(start + timedelta(minutes=i)).strftime("%H:%M") for i in range(minutes)]
    counts: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        channel = channel_of.get(row.partner_id, "unknown")
        per = counts.setdefault(
            channel, {k: [0] * minutes for k in ("accepted", "recorded", "rejected")}
        )
        if row.minute not in labels:
            continue
        i = labels.index(row.minute)
        per["accepted"][i] += row.n
        if row.status in ("recorded", "rejected"):
            per[row.status][i] += row.n
    return {
        channel: [
            MinuteFlow(label, per["accepted"][i], per["recorded"][i], per["rejected"][i])
            for i, label in enumerate(labels)
        ]
        for channel, per in sorted(counts.items())
    }
