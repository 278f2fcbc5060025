"""A Perisai agent drives the running hub as its phone app would, from the channel's page.

The agent is issued with ``hub agents add`` as an operator runs it; its client
(``tests/e2e/perisai_agent.py``) is written from docs/channels/perisai.md ("Signing a
request") with httpx and hmac only. The outcome is read back from PostgreSQL: the agent
id is on the inbox rows, the member and the contribution. Then the operator revokes the
agent, and its next request is refused.
"""

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from tests.e2e.perisai_agent import AGENCY, AGENCY_SECRET, AgentApp, issue_agent
from tests.e2e.polling import resent_while
from tests.support.hubproc import hub_cli
from tests.support.people import applicant


async def _accepted_once_issued(agent: AgentApp, payload: dict[str, Any]) -> httpx.Response:
    """The first request of a new agent: within agent_refresh_s (5 s) every process knows it."""
    return await resent_while(
        lambda: agent.post("/v1/registrations", payload), 401, within_s=15, pause_s=0.25
    )


@pytest.mark.e2e
async def test_an_agent_registers_and_collects_and_the_store_names_the_agent_until_revoked(
    hub_url: str,
    hub_env: dict[str, str],
    db: asyncpg.Connection,
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    agent_id, key = await issue_agent(hub_env, "Ketut (Desa Sanur Kaja)")
    agent = AgentApp(http, agent_id, key)
    person = applicant(f"PRS-{uuid.uuid4().hex[:12]}")

    registered = await _accepted_once_issued(agent, person)
    assert registered.status_code == 202, registered.text
    status = await agent.wait_for(f"/v1/registrations/{person['reference']}", "recorded")
    assert status["agent_id"] == agent_id
    inquiry = await agent.post("/v1/payments/inquiry", {"nik": person["nik"], "months": 1})
    assert inquiry.status_code == 200, inquiry.text
    payment = {
        "reference": f"PRS-PAY-{uuid.uuid4().hex[:12]}",
        "nik": person["nik"],
        "months": 1,
        "amount": inquiry.json()["amount_due"],
        "paid_at": datetime.now(UTC).isoformat(),
    }
    paid = await agent.post("/v1/payments", payment)
    assert paid.status_code == 202, paid.text
    paid_status = await agent.wait_for(f"/v1/payments/{payment['reference']}", "recorded")
    assert paid_status["agent_id"] == agent_id

    member = await db.fetchrow(
        "SELECT registered_channel, registered_partner, registered_agent, id "
        "FROM members WHERE nik = $1",
        person["nik"],
    )
    contribution = await db.fetchrow(
        "SELECT channel, partner_id, agent_id, amount FROM contributions "
        "WHERE partner_id = $1 AND partner_ref = $2",
        AGENCY,
        payment["reference"],
    )
    inbox = await db.fetch(
        "SELECT kind, agent_id FROM partner_requests WHERE partner_id = $1 "
        "AND reference = ANY($2::text[]) ORDER BY kind",
        AGENCY,
        [person["reference"], payment["reference"]],
    )
    assert tuple(member)[:3] == ("perisai", AGENCY, agent_id)
    assert tuple(contribution) == ("perisai", AGENCY, agent_id, payment["amount"])
    assert [tuple(r) for r in inbox] == [("payment", agent_id), ("registration", agent_id)]

    # The agency's statement names the agent on the payment's line (signed by the agency).
    day = datetime.now(ZoneInfo("Asia/Makassar")).date().isoformat()
    statement = await AgentApp(http, AGENCY, AGENCY_SECRET).get(f"/v1/settlements/{day}?format=csv")
    assert statement.status_code == 200, statement.text
    lines = {r["reference"]: r for r in csv.DictReader(io.StringIO(statement.text))}
    assert lines[payment["reference"]]["agent_id"] == agent_id

    # The agency's file leaves the payment out: the exception names the agent to ask.
    settlement = tmp_path / "perisai-settlement.csv"
    settlement.write_text(statement.text.splitlines()[0] + "\n")
    reconciled = await hub_cli(hub_env, "reconcile", AGENCY, day, str(settlement))
    assert reconciled.returncode == 1, reconciled.stdout + reconciled.stderr
    folder = Path(hub_env["HUB_RECONCILIATION_OUTPUT_DIR"]) / AGENCY / day
    exceptions = list(csv.DictReader((folder / "exceptions.csv").open()))
    (missing,) = [e for e in exceptions if e["reference"] == payment["reference"]]
    assert (missing["category"], missing["collected_by"]) == ("missing_in_partner", agent_id)

    listed = await hub_cli(hub_env, "agents", "list", AGENCY, "--json")
    assert any(json.loads(line)["agent_id"] == agent_id for line in listed.stdout.splitlines())
    revoked = await hub_cli(
        hub_env, "agents", "revoke", agent_id, "--by", "ops: e2e", "--reason", "phone lost"
    )
    assert revoked.returncode == 0, revoked.stderr
    refused = await agent.post("/v1/payments/inquiry", {"nik": person["nik"], "months": 1})
    # Refused by the signature check (store read) or, once the snapshot is refreshed, at
    # the edge: either way before anything is read or published.
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] in ("this agent's key was revoked", "unknown partner")


@pytest.mark.e2e
async def test_a_rekeyed_agent_goes_on_under_its_id_with_the_new_key_and_the_old_one_is_refused(
    hub_url: str, hub_env: dict[str, str], db: asyncpg.Connection, http: httpx.AsyncClient
) -> None:
    agent_id, old_key = await issue_agent(hub_env, "Wayan (Desa Ubud)")
    with_old_key = AgentApp(http, agent_id, old_key)
    first = applicant(f"PRS-{uuid.uuid4().hex[:12]}")
    assert (await _accepted_once_issued(with_old_key, first)).status_code == 202

    rekeyed = await hub_cli(
        hub_env, "agents", "rekey", agent_id, "--by", "ops: e2e", "--reason", "phone lost", "--json"
    )
    assert rekeyed.returncode == 0, rekeyed.stderr + rekeyed.stdout
    with_new_key = AgentApp(http, agent_id, json.loads(rekeyed.stdout)["key"])
    second = applicant(f"PRS-{uuid.uuid4().hex[:12]}")

    # The very next request: the signature check reads the agent's salt from the store.
    stolen_phone = await with_old_key.post("/v1/registrations", second)
    assert stolen_phone.status_code == 401
    assert stolen_phone.json()["error"]["message"] == "signature does not match"
    new_phone = await with_new_key.post("/v1/registrations", second)
    assert new_phone.status_code == 202, new_phone.text
    # What the old phone sent before the rekey stays the agent's, under the same id.
    for person in (first, second):
        status = await with_new_key.wait_for(f"/v1/registrations/{person['reference']}", "recorded")
        assert status["agent_id"] == agent_id
    agents_on_members = await db.fetch(
        "SELECT registered_agent FROM members WHERE nik = ANY($1::text[])",
        [first["nik"], second["nik"]],
    )
    assert [r["registered_agent"] for r in agents_on_members] == [agent_id, agent_id]


@pytest.mark.e2e
async def test_an_agent_cannot_sign_as_a_colleague_nor_see_a_colleagues_requests(
    hub_url: str, hub_env: dict[str, str], http: httpx.AsyncClient
) -> None:
    ketut_id, ketut_key = await issue_agent(hub_env, "Ketut")
    made_id, made_key = await issue_agent(hub_env, "Made")
    ketut, made = AgentApp(http, ketut_id, ketut_key), AgentApp(http, made_id, made_key)
    person = applicant(f"PRS-{uuid.uuid4().hex[:12]}")
    assert (await _accepted_once_issued(ketut, person)).status_code == 202
    await _accepted_once_issued(made, applicant(f"PRS-{uuid.uuid4().hex[:12]}"))

    impostor = await AgentApp(http, made_id, ketut_key).get(
        f"/v1/registrations/{person['reference']}"
    )
    not_yours = await made.get(f"/v1/registrations/{person['reference']}")
    same_reference = await made.post("/v1/registrations", person)

    assert impostor.status_code == 401
    assert not_yours.status_code == 404
    assert same_reference.status_code == 409
