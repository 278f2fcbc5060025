"""Operator actions from the CLI and /ops/v1, each in the audit table; who may call them."""

import asyncio
import base64
import json
import re
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from hub.bootstrap import intake_for
from hub.broker import Broker
from hub.intake.model import Partner
from hub.intake.requests import RegistrationRequest
from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.inbox import SqlRequestLedger
from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD
from tests.e2e.polling import wait_for_status
from tests.support.hubproc import hub_cli
from tests.support.partner import SignedClient
from tests.support.people import applicant
from tests.support.store import fetch_row
from tests.support.topics import read_topic

BASIC = "Basic " + base64.b64encode(f"{OPERATOR}:{OPERATOR_PASSWORD}".encode()).decode()


async def _audit(database_url: str, action: str, target: str) -> dict[str, Any] | None:
    row = await fetch_row(
        database_url,
        "SELECT operator, reason, outcome, via, detail FROM operator_actions "
        "WHERE action = $1 AND target = $2 ORDER BY id DESC LIMIT 1",
        action,
        target,
    )
    return None if row is None else dict(row)


async def test_only_operators_open_the_ops_api_and_their_session_does_not_open_the_partner_api(
    hub_url: str, demo: SignedClient
) -> None:
    async with httpx.AsyncClient(base_url=hub_url) as http:
        assert (await http.get("/ops/v1/lag")).status_code == 401
        assert (await http.get("/ops/v1/lag", headers=demo.headers(b""))).status_code == 401
        wrong = "Basic " + base64.b64encode(f"{OPERATOR}:nope".encode()).decode()
        assert (await http.get("/ops/v1/lag", headers={"Authorization": wrong})).status_code == 401
        assert (await http.get("/ops/v1/lag", headers={"Authorization": BASIC})).status_code == 200
        assert (await http.get("/ops/flow", follow_redirects=False)).status_code == 303

        form = await http.get("/ops/login")
        token = re.search(r'name="login_token" value="([0-9a-f]+)"', form.text)
        assert token is not None
        refused = await http.post(
            "/ops/login",
            data={"username": OPERATOR, "password": OPERATOR_PASSWORD, "login_token": "forged"},
        )
        assert refused.status_code == 403
        signed_in = await http.post(
            "/ops/login",
            data={"username": OPERATOR, "password": OPERATOR_PASSWORD, "login_token": token[1]},
        )
        assert signed_in.status_code == 303
        assert "hub_ops_session" in http.cookies
        # The operator's session is nothing to the partner API.
        person = applicant()
        body = json.dumps(person).encode()
        partner_api = await http.post(
            "/v1/registrations", content=body, headers={"Content-Type": "application/json"}
        )
        assert partner_api.status_code == 401
        # Every action needs the session's CSRF token.
        no_token = await http.post("/ops/dead-letters/0-0/replay", data={"reason": "test it"})
        assert no_token.status_code == 403
        api_no_token = await http.post(
            "/ops/v1/dead-letters/replay", json={"ids": ["0-0"], "reason": "test it"}
        )
        assert api_no_token.status_code == 403
        assert (await http.get("/ops/v1/audit")).status_code == 200


async def _publish_raw(broker: Broker, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_a_malformed_event_is_listed_shown_and_replayed_with_a_replayed_from_header(
    hub_url: str, hub_env: dict[str, str], broker: Broker, database_url: str
) -> None:
    nik, phone = "5171044508900001", "081234567890"
    marker = f"MALFORMED-{uuid.uuid4().hex[:8]}"
    value = json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "partner_ref": marker,
            "nik": nik,
            "phone": phone,
            "full_name": "Ni Made Ayu",
        }
    ).encode()
    await _publish_raw(broker, hub_env["HUB_KAFKA_MEMBER_EVENTS_TOPIC"], nik.encode(), value)

    letter_id = ""
    for _ in range(40):
        listed = await hub_cli(hub_env, "dlq", "list")
        assert listed.returncode == 0, listed.stderr
        found = [line for line in listed.stdout.splitlines() if marker in line]
        if found:
            letter_id = found[0].split("│")[1].strip()
            break
        await asyncio.sleep(0.5)
    assert letter_id, f"{marker} not dead-lettered: {listed.stdout}"
    assert nik not in listed.stdout and phone not in listed.stdout

    shown = await hub_cli(hub_env, "dlq", "show", letter_id)
    assert shown.returncode == 0, shown.stderr
    assert "not a valid event envelope" in shown.stdout
    assert "517104**********" in shown.stdout and nik not in shown.stdout

    dry = await hub_cli(
        hub_env, "dlq", "replay", letter_id, "--by", OPERATOR, "--reason", "check", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "would replay" in dry.stdout
    assert await _audit(database_url, "dlq.replay", letter_id) is None

    async with httpx.AsyncClient(base_url=hub_url, headers={"Authorization": BASIC}) as http:
        replayed = await http.post(
            "/ops/v1/dead-letters/replay", json={"ids": [letter_id], "reason": "schema fixed"}
        )
    assert replayed.status_code == 200, replayed.text
    audited = await _audit(database_url, "dlq.replay", letter_id)
    assert audited is not None
    assert (audited["operator"], audited["reason"], audited["outcome"], audited["via"]) == (
        OPERATOR,
        "schema fixed",
        "ok",
        "api",
    )
    events = await read_topic(broker.bootstrap_servers, hub_env["HUB_KAFKA_MEMBER_EVENTS_TOPIC"])
    headers = [
        (k, v.decode()) for e in events if marker.encode() in (e.value or b"") for k, v in e.headers
    ]
    dlq = hub_env["HUB_KAFKA_DEAD_LETTER_TOPIC"]
    assert ("replayed-from", f"{dlq}/{letter_id}") in headers
    assert ("replayed-by", OPERATOR) in headers


class _LostByTheBroker:
    """A broker that acknowledged the event and then lost it (a Tansu restart, a lost
    partition): the partner was told "accepted" and nothing will ever be consumed."""

    async def publish(
        self, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        return None


async def test_a_stuck_request_is_listed_and_redriven_from_the_cli_into_the_store(
    hub_url: str, hub_env: dict[str, str], demo: SignedClient, database_url: str
) -> None:
    person = applicant()
    engine = create_engine(database_url)
    try:
        ledger = SqlRequestLedger(engine)
        intake = intake_for(load_settings(), engine, _LostByTheBroker(), ledger=ledger)  # type: ignore[arg-type]
        accepted = await intake.submit_registration(
            Partner("demo", "hub-api"), RegistrationRequest.model_validate(person)
        )
        await ledger.flush()  # the acknowledgement, written after the answer
    finally:
        await engine.dispose()
    hub_reference = accepted.hub_reference
    status = await demo.get(f"/v1/registrations/{person['reference']}")
    assert status.json()["status"] == "accepted"
    await asyncio.sleep(1.5)
    stuck = await hub_cli(hub_env, "requests", "stuck", "--older-than", "0.02")
    assert hub_reference in stuck.stdout, stuck.stdout + stuck.stderr

    redriven = await hub_cli(
        hub_env, "requests", "redrive", hub_reference, "--by", OPERATOR, "--reason", "lifted"
    )
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    await wait_for_status(demo, f"/v1/registrations/{person['reference']}", "recorded", 20)
    audited = await _audit(database_url, "request.redrive", hub_reference)
    assert audited is not None and (audited["operator"], audited["via"]) == (OPERATOR, "cli")

    again = await hub_cli(
        hub_env, "requests", "redrive", hub_reference, "--by", OPERATOR, "--reason", "twice"
    )
    assert again.returncode == 1 and "recorded, not waiting" in again.stdout

    lag = await hub_cli(hub_env, "lag")
    assert lag.returncode == 0, lag.stderr
    assert hub_env["HUB_KAFKA_MEMBER_EVENTS_TOPIC"] in lag.stdout and "total lag:" in lag.stdout
    metrics = (await httpx.AsyncClient().get(f"{hub_url}/metrics")).text
    assert 'hub_redrives_total{trigger="operator"}' in metrics
