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
from hub.store.agents import NoSuchAgent, SqlAgentStore
from hub.store.database import create_engine
from hub.store.tables import operator_actions, partner_agents

AGENCY = "perisai-bali"  # config/test.toml
OPS = ["--by", "ops: Dewi"]
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


async def _audit_trail(
    database_url: str, agent_id: str, column: sa.Column[str]
) -> list[sa.Row[tuple[object, ...]]]:
    """The agent's audit rows, oldest first: (action, ``column``)."""
    return await _rows(
        database_url,
        sa.select(operator_actions.c.action, column)
        .where(operator_actions.c.target == f"{AGENCY}/{agent_id}")
        .order_by(operator_actions.c.id),
    )


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
    audit = asyncio.run(_audit_trail(database_url, agent_id, operator_actions.c.operator))
    assert [tuple(a) for a in audit] == [
        ("agent.issue", "ops: Dewi"),
        ("agent.revoke", "ops: Dewi"),
    ]


async def _verified(database_url: str, agent_id: str, key: str) -> str:
    """What one API process makes of a version 2 inquiry the agent signs with ``key``."""
    settings = load_settings(database_url=database_url)
    engine = create_engine(database_url)
    directory = AgentDirectory(SqlAgentStore(engine), refresh_s=3600)
    await directory.refresh()
    verifier = SignatureVerifier(
        {}, window_s=300, agents=directory, agencies={AGENCY: settings.partners[AGENCY]}
    )
    signed = signed_headers_v2(key, "POST", "/v1/payments/inquiry", agent_id, INQUIRY)
    try:
        partner = await verifier.verify_request(
            {k.lower(): v for k, v in signed.items()}, "POST", "/v1/payments/inquiry", INQUIRY
        )
        return f"{partner.partner_id}/{partner.agent_id}"
    except Unauthenticated as refused:
        return refused.message
    finally:
        await engine.dispose()


def _issue(cli: CliRunner, agent_id: str, name: str, *more: str) -> str:
    """``hub agents add`` for the test agency, by Dewi; it must succeed. Its output."""
    added = cli.invoke(
        app, ["agents", "add", AGENCY, "--name", name, "--agent-id", agent_id, *OPS, *more]
    )
    assert added.exit_code == 0, added.output
    return added.output


def _rekey_by_cli(cli: CliRunner, agent_id: str, *more: str) -> str:
    """``hub agents rekey``, by Dewi, for a lost phone; it must succeed. Its output."""
    rekeyed = cli.invoke(app, ["agents", "rekey", agent_id, *OPS, "--reason", "phone lost", *more])
    assert rekeyed.exit_code == 0, rekeyed.output
    return rekeyed.output


@pytest.mark.integration
def test_a_rekeyed_agent_keeps_its_id_its_old_key_is_refused_and_the_new_one_signs(
    database_url: str, cli: CliRunner, new_agent_id: str
) -> None:
    old_key = json.loads(_issue(cli, new_agent_id, "Komang", "--json"))["key"]
    assert asyncio.run(_verified(database_url, new_agent_id, old_key)) == f"{AGENCY}/{new_agent_id}"

    answer = json.loads(_rekey_by_cli(cli, new_agent_id, "--json"))
    (row,) = asyncio.run(
        _rows(
            database_url,
            sa.select(partner_agents).where(partner_agents.c.agent_id == new_agent_id),
        )
    )
    new_key = answer["key"]
    assert new_key == _documented_key(new_agent_id, row.key_salt) != old_key
    assert (answer["agent_id"], answer["partner_id"], answer["active"]) == (
        new_agent_id,
        AGENCY,
        True,
    )
    assert (row.name, row.issued_by, row.revoked_at) == ("Komang", "ops: Dewi", None)
    # From the very next request, in a process that read nothing but the store:
    assert asyncio.run(_verified(database_url, new_agent_id, old_key)) == (
        "signature does not match"
    )
    assert asyncio.run(_verified(database_url, new_agent_id, new_key)) == f"{AGENCY}/{new_agent_id}"
    audit = asyncio.run(_audit_trail(database_url, new_agent_id, operator_actions.c.reason))
    assert [tuple(a) for a in audit] == [
        ("agent.issue", "new agent"),
        ("agent.rekey", "phone lost"),
    ]
    assert new_key not in json.dumps([str(v) for v in row])


@pytest.mark.integration
def test_a_revoked_or_unknown_agent_is_not_rekeyed_and_keeps_no_new_key(
    database_url: str, cli: CliRunner, new_agent_id: str
) -> None:
    by = ["--by", "ops: Dewi"]
    add = ["agents", "add", AGENCY, "--name", "Nyoman", "--agent-id", new_agent_id, *by]
    assert cli.invoke(app, add).exit_code == 0
    revoke = ["agents", "revoke", new_agent_id, *by, "--reason", "left"]
    assert cli.invoke(app, revoke).exit_code == 0

    def salt() -> list[object]:
        query = sa.select(partner_agents.c.key_salt).where(
            partner_agents.c.agent_id == new_agent_id
        )
        return [row.key_salt for row in asyncio.run(_rows(database_url, query))]

    before = salt()

    revoked = cli.invoke(app, ["agents", "rekey", new_agent_id, *by, "--reason", "x"])
    unknown = cli.invoke(app, ["agents", "rekey", "prs-nobody-99", *by, "--reason", "x"])

    assert revoked.exit_code == 1 and "no active agent" in revoked.output
    assert unknown.exit_code == 1 and "no active agent" in unknown.output
    assert salt() == before
    # The store refuses too, should a revocation land between the CLI's read and its rekey.
    with pytest.raises(NoSuchAgent, match="no active agent"):
        asyncio.run(_rekey(database_url, new_agent_id))
    assert salt() == before


async def _rekey(database_url: str, agent_id: str) -> None:
    engine = create_engine(database_url)
    try:
        await SqlAgentStore(engine).rekey(agent_id, by="ops: Dewi", reason="race")
    finally:
        await engine.dispose()


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


@pytest.mark.integration
def test_the_list_says_since_when_each_agent_signs_with_its_key_and_a_rekey_moves_it(
    database_url: str, cli: CliRunner, new_agent_id: str
) -> None:
    _issue(cli, new_agent_id, "Made")

    def listed() -> dict[str, str]:
        out = cli.invoke(app, ["agents", "list", AGENCY, "--json"])
        assert out.exit_code == 0, out.output
        (agent,) = [
            a for a in map(json.loads, out.output.splitlines()) if a["agent_id"] == new_agent_id
        ]
        return agent  # type: ignore[no-any-return]

    issued = listed()
    assert issued["key_issued_at"] == issued["issued_at"]

    _rekey_by_cli(cli, new_agent_id)

    after = listed()
    assert after["issued_at"] == issued["issued_at"]
    assert after["key_issued_at"] > issued["key_issued_at"]
    table = cli.invoke(app, ["agents", "list", AGENCY], env={"COLUMNS": "200"})
    assert "key since" in table.output
