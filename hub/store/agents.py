"""Agent records on the membership store: issue, list, rekey, revoke; each action audited
with it."""

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.agents.keys import check_agent_id, new_salt
from hub.agents.registry import AgentRecord
from hub.ops import audit
from hub.store.rows import record_of
from hub.store.tables import partner_agents
from hub.store.watch import aware


class AgentConflict(ValueError):
    """The agent id is taken (an agent's id is never issued twice, even after revocation)."""


class NoSuchAgent(LookupError):
    """No agent with that id, or it is already revoked."""


def _record(row: Any) -> AgentRecord:
    return record_of(
        AgentRecord,
        row,
        issued_at=aware(row.issued_at) or row.issued_at,
        key_issued_at=aware(row.key_issued_at) or row.key_issued_at,
        revoked_at=aware(row.revoked_at),
    )


async def _audit(
    conn: AsyncConnection,
    action: str,
    agent: AgentRecord,
    by: str,
    reason: str,
    via: str,
    at: datetime,
) -> None:
    """One audit row, ``agency/agent`` as its target, in the action's own transaction."""
    target = f"{agent.partner_id}/{agent.agent_id}"
    await audit.record(
        conn,
        operator=by,
        action=action,
        target=target,
        reason=reason,
        outcome="done",
        via=via,
        at=at,
    )


class SqlAgentStore:
    """``hub.agents.registry.AgentStore`` on the ``partner_agents`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, agent_id: str) -> AgentRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(partner_agents).where(partner_agents.c.agent_id == agent_id)
                )
            ).first()
        return None if row is None else _record(row)

    async def active_agencies(self) -> dict[str, str]:
        t = partner_agents
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.c.agent_id, t.c.partner_id).where(t.c.revoked_at.is_(None))
            )
            return {r.agent_id: r.partner_id for r in rows}

    async def list(
        self, partner_id: str | None = None, *, revoked: bool = True
    ) -> list[AgentRecord]:
        """Agents by id, of one agency or all; without the revoked ones if ``revoked`` is False."""
        query = sa.select(partner_agents).order_by(partner_agents.c.agent_id)
        if partner_id is not None:
            query = query.where(partner_agents.c.partner_id == partner_id)
        if not revoked:
            query = query.where(partner_agents.c.revoked_at.is_(None))
        async with self._engine.connect() as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def issue(
        self,
        agent_id: str,
        partner_id: str,
        name: str,
        *,
        by: str,
        reason: str,
        partner_ids: Collection[str],
        via: str = "cli",
    ) -> AgentRecord:
        """A new agent of ``partner_id`` with a fresh salt, audited in the same transaction."""
        now = datetime.now(UTC)
        record = AgentRecord(
            agent_id=check_agent_id(agent_id, partner_ids),
            partner_id=partner_id,
            name=name,
            key_salt=new_salt(),
            issued_at=now,
            issued_by=by,
            key_issued_at=now,
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    partner_agents.insert().values(
                        agent_id=record.agent_id,
                        partner_id=record.partner_id,
                        name=record.name,
                        key_salt=record.key_salt,
                        issued_at=record.issued_at,
                        issued_by=record.issued_by,
                        key_issued_at=record.key_issued_at,
                    )
                )
                await _audit(conn, "agent.issue", record, by, reason, via, record.issued_at)
        except IntegrityError:
            raise AgentConflict(f"agent id {agent_id!r} was already issued") from None
        return record

    async def rekey(self, agent_id: str, *, by: str, reason: str, via: str = "cli") -> AgentRecord:
        """A fresh salt for an active agent: its old key is refused from this moment, in
        every API process, and the key derived from the new salt signs instead. The agent
        keeps its id, so its requests, incentives and settlement lines stay under one name."""
        now = datetime.now(UTC)
        values = {"key_salt": new_salt(), "key_issued_at": now}
        return await self._change_active(agent_id, "agent.rekey", values, by, reason, via, now)

    async def revoke(self, agent_id: str, *, by: str, reason: str, via: str = "cli") -> AgentRecord:
        """Revoke an active agent; its key is refused from this moment, in every API process."""
        now = datetime.now(UTC)
        values = {"revoked_at": now, "revoked_by": by, "revoke_reason": reason}
        return await self._change_active(agent_id, "agent.revoke", values, by, reason, via, now)

    async def _change_active(
        self,
        agent_id: str,
        action: str,
        values: dict[str, Any],
        by: str,
        reason: str,
        via: str,
        now: datetime | None = None,
    ) -> AgentRecord:
        """Change an active agent's row and audit it, in one transaction; ``NoSuchAgent``
        if the agent is unknown or revoked (also when a revocation lands first)."""
        at = now or datetime.now(UTC)
        t = partner_agents
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    t.update()
                    .where(t.c.agent_id == agent_id, t.c.revoked_at.is_(None))
                    .values(**values)
                    .returning(*t.c)
                )
            ).first()
            if row is None:
                raise NoSuchAgent(f"no active agent {agent_id!r}")
            changed = _record(row)
            await _audit(conn, action, changed, by, reason, via, at)
        return changed
