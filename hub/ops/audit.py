"""The ``operator_actions`` audit table: who did what, to what, when, why, and how it went."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.observability import metrics
from hub.observability.redaction import redact_value
from hub.store.tables import operator_actions
from hub.store.watch import aware


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    operator: str
    action: str
    target: str
    reason: str
    outcome: str
    detail: dict[str, Any]
    via: str


async def record(
    conn: AsyncConnection,
    *,
    operator: str,
    action: str,
    target: str,
    reason: str,
    outcome: str,
    detail: dict[str, Any] | None = None,
    via: str,
    at: datetime | None = None,
) -> None:
    """Insert one audit row in the caller's transaction (the action and its record agree)."""
    await conn.execute(
        operator_actions.insert().values(
            at=at or datetime.now(UTC),
            operator=operator,
            action=action,
            target=target,
            reason=reason,
            outcome=outcome,
            detail=json.dumps(redact_value(detail or {}), default=str),
            via=via,
        )
    )
    metrics.OPERATOR_ACTIONS.labels(action).inc()


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, **fields: Any) -> None:
        async with self._engine.begin() as conn:
            await record(conn, **fields)

    async def recent(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        """The newest entries first."""
        t = operator_actions
        query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(t.c.action == action)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            AuditEntry(
                id=r.id,
                at=aware(r.at) or r.at,
                operator=r.operator,
                action=r.action,
                target=r.target,
                reason=r.reason,
                outcome=r.outcome,
                detail=json.loads(r.detail),
                via=r.via,
            )
            for r in rows
        ]

    async def targets(self, action: str, outcome: str = "ok") -> set[str]:
        """Every target an action succeeded on (e.g. the dead letters already replayed)."""
        t = operator_actions
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.c.target).where(t.c.action == action, t.c.outcome == outcome)
            )
            return {r.target for r in rows}
