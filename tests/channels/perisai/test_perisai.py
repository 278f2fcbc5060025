"""Agen Perisai: agents of an agency on the hub API, each with its own key."""

import json

from tests.channels.kit import SARI_PAYMENT_CODE, World, http_examples, replay, world
from tests.channels.perisai.driver import AGENT_KEY, call
from tests.unit.fakes import AGENT_MADE_KEY, InMemoryAgentStore

PAYMENT = {
    "reference": "PRS-0001-T-001",
    "payment_code": SARI_PAYMENT_CODE,
    "months": 1,
    "amount": 16800,
    "paid_at": "2026-03-10T09:55:00+08:00",
}


async def test_every_documented_example_is_answered_exactly_as_shown() -> None:
    examples = http_examples("perisai")
    assert len(examples) == 7
    async with world() as w:
        for example in examples:
            answer = await replay(w, example)
            assert answer.status_code == example.status, (example.title, answer.text)
            assert answer.json() == example.response_body, example.title
            for name, value in example.response_headers.items():
                if name.lower() != "content-type":
                    assert answer.headers[name] == value, (example.title, name)


def _agents(w: World) -> InMemoryAgentStore:
    store: InMemoryAgentStore = w.extra["agents"]
    return store


async def test_an_agents_payment_is_the_agencys_and_names_the_agent_on_its_event() -> None:
    async with world() as w:
        answer = await call(w.client, "payment", PAYMENT, w.clock())
        (published,) = w.publisher.published
    assert answer.code == "202"
    envelope = published.envelope
    assert (envelope.channel, envelope.partner_id, envelope.agent_id) == (
        "perisai",
        "perisai-bali",
        "prs-bali-0001",
    )
    assert json.loads(published.value)["agent_id"] == "prs-bali-0001"


async def test_a_revoked_agent_is_refused_on_its_next_request() -> None:
    async with world() as w:
        before = await call(
            w.client, "inquiry", {"payment_code": SARI_PAYMENT_CODE, "months": 1}, w.clock()
        )
        _agents(w).revoke("prs-bali-0001")
        after = await call(w.client, "payment", PAYMENT, w.clock())
        assert w.publisher.published == []
    assert before.code == "200"
    assert (after.code, after.http_status) == ("unauthenticated", 401)
    assert after.body["error"]["message"] == "this agent's key was revoked"


async def test_an_agents_key_signs_only_as_that_agent() -> None:
    async with world() as w:
        as_made = await call(w.client, "payment", PAYMENT, w.clock(), agent_id="prs-bali-0002")
        made_with_own_key = await call(
            w.client, "payment", PAYMENT, w.clock(), agent_id="prs-bali-0002", key=AGENT_MADE_KEY
        )
        ketut_again = await call(w.client, "payment", PAYMENT, w.clock(), key=AGENT_KEY)
    assert (as_made.code, as_made.http_status) == ("unauthenticated", 401)
    assert made_with_own_key.code == "202"
    # The reference is the agency's: Made took it first, so Ketut's is a conflict.
    assert ketut_again.code == "reference_conflict"


async def test_the_agencys_own_secret_does_not_sign_the_hub_api() -> None:
    async with world() as w:
        answer = await call(
            w.client,
            "payment",
            PAYMENT,
            w.clock(),
            agent_id="perisai-bali",
            key="perisai-bali-secret",
        )
    assert (answer.code, answer.http_status) == ("unauthenticated", 401)
