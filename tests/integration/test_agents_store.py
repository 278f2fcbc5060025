"""``hub agents add | list | revoke`` on PostgreSQL, and what a revocation does at once."""

import asyncio
import hashlib
import hmac
import json
import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.agents.registry import AgentDirectory
from hub.cli.main import app
from hub.errors import Unauthenticated
from hub.settings import load_settings
from hub.signing import SignatureVerifier, signed_headers_v2
from hub.store.agents import SqlAgentStore
from hub.store.database import create_engine
from hub.store.tables import operator_actions, partner_agents

AGENCY = "perisai-bali"  # config/test.toml
INQUIRY = b'{"payment_code":"886600000000018","months":1}'


def _documented_key(agent_id: str, salt: str) -> str:
    """docs/channels/perisai.md: HMAC-SHA256(agency secret, label, agent id, salt)."""
    message = f"BPU-AGENT-KEY-V1\n{agent_id}\n{salt}".encode()
    return hmac.new(b"perisai-bali-secret", message, hashlib.sha256).hexdigest()


async def _rows(
    database_url: str, query: sa.Select[tuple[object, ...]]
) -> list[sa.Row[tuple[object, ...]]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(query))
    finally:
        await engine.dispose()


async def _signed_inquiry(database_url: str, agent_id: str, key: str, revoke: bool) -> list[str]:
    """The agent inquires, is (maybe) revoked by another process, and inquires again."""
    settings = load_settings(database_url=database_url)
    engine = create_engine(database_url)
    store = SqlAgentStore(engine)
    directory = AgentDirectory(store, refresh_s=3600)  # its snapshot will not see the revocation
    await directory.refresh()
    verifier = SignatureVerifier(
        {},
        window_s=300,
        agents=directory,
        agencies={AGENCY: settings.partners[AGENCY]},
    )
    outcomes = []
    try:
        for attempt in range(2):
            if attempt == 1 and revoke:
                # Another process (the operator's shell) revokes it: its own event loop.
                done = await asyncio.to_thread(
                    CliRunner().invoke,
                    app,
                    ["agents", "revoke", agent_id, "--by", "ops: Dewi", "--reason", "left"],
                )
                assert done.exit_code == 0, done.output
            headers = {
                k.lower(): v
                for k, v in signed_headers_v2(
                    key, "POST", "/v1/payments/inquiry", agent_id, INQUIRY
                ).items()
            }
            try:
                partner = await verifier.verify_request(
                    headers, "POST", "/v1/payments/inquiry", INQUIRY
                )
                outcomes.append(f"{partner.partner_id}/{partner.agent_id}")
            except Unauthenticated as refused:
                outcomes.append(refused.message)
    finally:
        await engine.dispose()
    return outcomes


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """``hub`` as an operator runs it, on the session's database."""
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    return CliRunner()


@pytest.fixture
def new_agent_id() -> str:
    """An agent id no other test issues."""
    return f"prs-{uuid.uuid4().hex[:8]}"


@pytest.mark.integration
def test_an_issued_agent_signs_until_revoked_and_every_action_is_audited(
    database_url: str, cli: CliRunner, new_agent_id: str
) -> None:
    agent_id = new_agent_id
    added = cli.invoke(
        app,
        [
            "agents",
            "add",
            AGENCY,
            "--name",
            "Ketut",
            "--agent-id",
            agent_id,
            "--by",
            "ops: Dewi",
            "--json",
        ],
    )
    assert added.exit_code == 0, added.output
    issued = json.loads(added.output)
    (row,) = asyncio.run(
        _rows(database_url, sa.select(partner_agents).where(partner_agents.c.agent_id == agent_id))
    )
    # The table holds a salt, never the key; the key is the documented derivation.
    assert issued["key"] == _documented_key(agent_id, row.key_salt)
    assert issued["key"] not in json.dumps([str(v) for v in row])
    assert (row.partner_id, row.issued_by, row.revoked_at) == (AGENCY, "ops: Dewi", None)

    outcomes = asyncio.run(_signed_inquiry(database_url, agent_id, issued["key"], revoke=True))
    assert outcomes == [f"{AGENCY}/{agent_id}", "this agent's key was revoked"]

    listed = cli.invoke(app, ["agents", "list", AGENCY, "--json"])
    active = cli.invoke(app, ["agents", "list", AGENCY, "--active", "--json"])
    mine = [json.loads(line) for line in listed.output.splitlines() if agent_id in line]
    assert [(a["active"], a["revoked_by"], a["revoke_reason"]) for a in mine] == [
        (False, "ops: Dewi", "left")
    ]
    assert agent_id not in active.output
    audit = asyncio.run(
        _rows(
            database_url,
            sa.select(operator_actions.c.action, operator_actions.c.operator)
            .where(operator_actions.c.target == f"{AGENCY}/{agent_id}")
            .order_by(operator_actions.c.id),
        )
    )
    assert [tuple(a) for a in audit] == [
        ("agent.issue", "ops: Dewi"),
        ("agent.revoke", "ops: Dewi"),
    ]


@pytest.mark.integration
def test_an_agent_id_is_never_issued_twice_nor_revoked_twice(
    cli: CliRunner, new_agent_id: str
) -> None:
    add = ["agents", "add", AGENCY, "--name", "Made", "--agent-id", new_agent_id]
    revoke = ["agents", "revoke", new_agent_id, "--reason", "x"]
    by = ["--by", "ops: Dewi"]

    first = cli.invoke(app, add + by)
    revoked = cli.invoke(app, revoke + by)
    again = cli.invoke(app, add + by)
    revoked_again = cli.invoke(app, revoke + by)

    assert first.exit_code == 0 and revoked.exit_code == 0, first.output + revoked.output
    assert again.exit_code == 1 and "already issued" in again.output
    assert revoked_again.exit_code == 1 and "no active agent" in revoked_again.output


@pytest.mark.integration
@pytest.mark.parametrize(
    ("partner", "agent_id", "refusal"),
    [
        ("demo", "prs-demo-1", "has no agents"),  # a hub-api partner is no agency
        ("nobody", "prs-nobody-1", "no partner"),
        (AGENCY, "demo", "a partner's id"),
        (AGENCY, "Bad Id", "3 to 32"),
    ],
)
def test_agents_are_issued_only_to_agencies_under_ids_no_partner_has(
    cli: CliRunner, partner: str, agent_id: str, refusal: str
) -> None:
    result = cli.invoke(
        app, ["agents", "add", partner, "--name", "X", "--agent-id", agent_id, "--by", "ops: Dewi"]
    )
    assert result.exit_code != 0
    assert refusal in result.output
