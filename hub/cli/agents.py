"""``hub agents``: issue, list, rekey and revoke the agents of an agency partner (Agen Perisai).

Each action is recorded in the operator audit table with ``--by`` and ``--reason``. An
agent's key is printed once, when it is issued or rekeyed: the hub keeps only what it
needs to derive the key again from the agency's secret (``hub.agents.keys``).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hub.agents.keys import AgentIdRefused, agent_key, new_agent_id
from hub.agents.registry import AgentRecord
from hub.channels import UnknownChannel, adapter_class
from hub.settings import Settings, load_settings
from hub.store.agents import AgentConflict, NoSuchAgent, SqlAgentStore
from hub.store.database import create_engine

agents = typer.Typer(help="Agents of agency partners (Perisai): each signs with its own key.")
console = Console()
T = TypeVar("T")

By = Annotated[str, typer.Option("--by", help="Who acts (recorded in the audit table)")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per agent")]


def _with_store(settings: Settings, action: Callable[[SqlAgentStore], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await action(SqlAgentStore(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _agency(settings: Settings, partner_id: str) -> str:
    """The agency's secret: ``partner_id`` must be a partner on a channel of agents."""
    partner = settings.partners.get(partner_id)
    if partner is None:
        raise typer.BadParameter(f"no partner {partner_id!r} in the configuration")
    try:
        takes_agents = adapter_class(partner.channel).agents_sign_hub_api
    except UnknownChannel:
        takes_agents = False
    if not takes_agents:
        raise typer.BadParameter(
            f"partner {partner_id!r} is on channel {partner.channel!r}, which has no agents"
        )
    return partner.secret.get_secret_value()


def _as_json(record: AgentRecord) -> dict[str, str | bool | None]:
    return {
        "agent_id": record.agent_id,
        "partner_id": record.partner_id,
        "name": record.name,
        "active": record.active,
        "issued_at": record.issued_at.isoformat(),
        "issued_by": record.issued_by,
        "key_issued_at": record.key_issued_at.isoformat(),
        "revoked_at": None if record.revoked_at is None else record.revoked_at.isoformat(),
        "revoked_by": record.revoked_by,
        "revoke_reason": record.revoke_reason,
    }


@agents.command("add")
def add(
    partner: Annotated[str, typer.Argument(help="The agency partner (e.g. perisai-bali)")],
    name: Annotated[str, typer.Option("--name", help="Who the agent is, for operators")],
    by: By,
    agent_id: Annotated[
        str | None, typer.Option("--agent-id", help="The agency's own id (default: agt-<hex>)")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (audit)")] = "new agent",
    as_json: AsJson = False,
) -> None:
    """Issue an agent and print its key, once: hand it to the agent, it is not shown again."""
    settings = load_settings()
    secret = _agency(settings, partner)
    wanted = agent_id or new_agent_id()
    try:
        record = _with_store(
            settings,
            lambda store: store.issue(
                wanted, partner, name, by=by, reason=reason, partner_ids=settings.partners.keys()
            ),
        )
    except (AgentIdRefused, AgentConflict) as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    _show_key(record, secret, "issued", as_json)


def _show_key(record: AgentRecord, agency_secret: str, done: str, as_json: bool) -> None:
    """The agent's key, printed this once: the hub keeps only its salt."""
    key = agent_key(agency_secret, record.agent_id, record.key_salt)
    if as_json:
        typer.echo(json.dumps({**_as_json(record), "key": key}))
        return
    console.print(f"agent [bold]{record.agent_id}[/] of [bold]{record.partner_id}[/] {done}")
    console.print(f"key (shown once; sign with it as X-Partner-Id {record.agent_id}):")
    typer.echo(key)


@agents.command("list")
def list_agents(
    partner: Annotated[str | None, typer.Argument(help="Only this agency's agents")] = None,
    active: Annotated[bool, typer.Option("--active", help="Leave out revoked agents")] = False,
    as_json: AsJson = False,
) -> None:
    """Agents by id: who issued them, since when their key signs, and, if revoked, who,
    when and why."""
    settings = load_settings()
    records = _with_store(settings, lambda store: store.list(partner, revoked=not active))
    if as_json:
        for record in records:
            typer.echo(json.dumps(_as_json(record)))
        return
    table = Table("agent", "agency", "name", "issued", "by", "key since", "revoked", "by", "why")
    for r in records:
        table.add_row(
            r.agent_id,
            r.partner_id,
            r.name,
            f"{r.issued_at:%Y-%m-%d %H:%M}",
            r.issued_by,
            f"{r.key_issued_at:%Y-%m-%d %H:%M}",
            "" if r.revoked_at is None else f"{r.revoked_at:%Y-%m-%d %H:%M}",
            r.revoked_by or "",
            r.revoke_reason or "",
        )
    console.print(table)


@agents.command("rekey")
def rekey(
    agent_id: Annotated[str, typer.Argument(help="The agent to give a new key")],
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Why (audit)", show_default=False)],
    as_json: AsJson = False,
) -> None:
    """Give an agent a new key and print it, once; its old key is refused from the next request.

    The agent keeps its id (its requests, incentives and settlement lines stay under one
    name): for a lost or shared phone, or after the agency's secret was rotated.
    """
    settings = load_settings()

    async def new_key(store: SqlAgentStore) -> tuple[AgentRecord, str]:
        current = await store.get(agent_id)
        if current is None or not current.active:
            raise NoSuchAgent(f"no active agent {agent_id!r}")
        # Before the salt changes: a key the hub cannot print would lock the agent out.
        secret = _agency(settings, current.partner_id)
        return await store.rekey(agent_id, by=by, reason=reason), secret

    try:
        record, secret = _with_store(settings, new_key)
    except NoSuchAgent as missing:
        console.print(f"[red]{missing}[/]")
        raise typer.Exit(1) from None
    _show_key(record, secret, "has a new key", as_json)


@agents.command("revoke")
def revoke(
    agent_id: Annotated[str, typer.Argument(help="The agent to revoke")],
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Why (audit)", show_default=False)],
) -> None:
    """Revoke an agent: every API process refuses its key from the next request on."""
    settings = load_settings()
    try:
        record = _with_store(settings, lambda store: store.revoke(agent_id, by=by, reason=reason))
    except NoSuchAgent as missing:
        console.print(f"[red]{missing}[/]")
        raise typer.Exit(1) from None
    console.print(f"agent [bold]{record.agent_id}[/] of {record.partner_id} revoked")
