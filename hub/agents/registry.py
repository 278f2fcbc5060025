"""Who the agents are: the records operators issue and revoke, and the hub's view of them.

Every API process sees a revocation at once: the signature check reads the signing
agent's row from the store on each request (one primary-key read). The edge, which names
the partner from the headers before any body is read, uses a snapshot of all agents
refreshed every ``refresh_s`` seconds; so a newly issued agent is accepted within that
time, and a revoked one is refused by the signature check at once, and by the edge from
the next refresh.
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """One agent of an agency partner, as issued (and maybe revoked) by an operator."""

    agent_id: str
    partner_id: str
    name: str
    key_salt: str
    issued_at: datetime
    issued_by: str
    key_issued_at: datetime
    """When the key it signs with now was issued: at issue, then at each rekey."""
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AgentStore(Protocol):
    """Where agent records live (``hub.store.agents`` on the membership store)."""

    async def get(self, agent_id: str) -> AgentRecord | None: ...

    async def active_agencies(self) -> dict[str, str]:
        """Every active agent's agency partner, by agent id."""
        ...


class AgentDirectory:
    """The hub's view of agents: a snapshot for the edge, the store for the signature check."""

    def __init__(
        self,
        store: AgentStore,
        refresh_s: float = 5.0,
    ) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._agencies: Mapping[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    def agency_of(self, agent_id: str) -> str | None:
        """The agency of an active agent as of the last snapshot (no I/O: the edge asks)."""
        return self._agencies.get(agent_id)

    async def current(self, agent_id: str) -> AgentRecord | None:
        """The agent as the store holds it now: a revocation counts from the moment it is made."""
        return await self._store.get(agent_id)

    async def refresh(self) -> None:
        self._agencies = await self._store.active_agencies()

    async def start(self) -> None:
        """Take the first snapshot, then keep it fresh until ``stop``."""
        try:
            await self.refresh()
        except Exception:  # the store may be down at start; the loop tries again
            log.warning(
                "no agent snapshot yet; agents are refused until one is read", exc_info=True
            )
        self._task = asyncio.create_task(self._refreshing(), name="agent-directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _refreshing(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.refresh()
            except Exception:  # the store may be down; the last snapshot stands meanwhile
                log.warning("agent snapshot not refreshed; keeping the last one", exc_info=True)
