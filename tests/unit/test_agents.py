"""Perisai agents: who may be issued, how an agent's key is made, and what it may sign.

The known keys and signatures were computed with ``openssl dgst -sha256 -hmac`` in a
shell (see tests/unit/fakes.py and docs/channels/perisai.md), never with the code under test.
"""

import dataclasses
import json

import pytest

from hub.agents.keys import AgentIdRefused, agent_key, check_agent_id
from hub.agents.registry import AgentDirectory
from hub.errors import AlreadyReversed, NotFound, ReferenceConflict, Unauthenticated
from hub.intake.model import Partner
from hub.intake.requests import PaymentRequest, RegistrationRequest, ReversalRequest
from hub.intake.service import IntakeService
from hub.settings import PartnerSettings
from hub.signing import SignatureVerifier
from tests.channels.kit import SARI
from tests.unit.fakes import (
    AGENT_KETUT,
    AGENT_KETUT_KEY,
    AGENT_MADE,
    AGENT_MADE_KEY,
    BALI_WOMAN_NIK,
    DEMO_SECRET,
    NOW,
    PERISAI_AGENCY,
    FakePublisher,
    InMemoryAgentStore,
    InMemoryNonces,
    InMemoryRequestLedger,
    configured_schedule,
    registration_body,
)

STAMP = "1773108000"  # NOW
INQUIRY = b'{"nik":"5171044508900001","months":1}'
INQUIRY_PATH = "/v1/payments/inquiry"
# The v2 string to sign of POST /v1/payments/inquiry by prs-bali-0001 at STAMP, no nonce,
# HMAC-SHA256 with AGENT_KETUT_KEY (openssl; see the module docstring).
KETUT_V2 = "1e802f323c366025d0ca2a6c581cef14e6f1f06f6bab9486b5303b407e9b80c4"
# printf '%s' '1773108000.{"nik":"5171044508900001","months":1}' | openssl dgst -sha256 \
#   -hmac $AGENT_KETUT_KEY
KETUT_V1 = "1a68f8525b601e0cd782d17fecf506fcf0a756c93290bac75c530b4b894011a9"

AGENCY = Partner(PERISAI_AGENCY, "perisai", "Asia/Makassar")
KETUT = Partner(PERISAI_AGENCY, "perisai", "Asia/Makassar", agent_id="prs-bali-0001")
MADE = Partner(PERISAI_AGENCY, "perisai", "Asia/Makassar", agent_id="prs-bali-0002")


def test_an_agents_key_is_the_hmac_of_its_id_and_salt_under_the_agencys_secret() -> None:
    assert agent_key("perisai-bali-secret", "prs-bali-0001", AGENT_KETUT.key_salt) == (
        AGENT_KETUT_KEY
    )
    assert agent_key("perisai-bali-secret", "prs-bali-0002", AGENT_MADE.key_salt) == (
        AGENT_MADE_KEY
    )


def test_the_same_salt_under_another_agency_or_id_gives_another_key() -> None:
    salt = AGENT_KETUT.key_salt
    assert agent_key("other-agency-secret", "prs-bali-0001", salt) != AGENT_KETUT_KEY
    assert agent_key("perisai-bali-secret", "prs-bali-0003", salt) != AGENT_KETUT_KEY


@pytest.mark.parametrize("agent_id", ["prs-bali-0001", "agt-0a1b2c3d4e", "k07", "a" * 32])
def test_well_formed_agent_ids_may_be_issued(agent_id: str) -> None:
    assert check_agent_id(agent_id, {"demo"}) == agent_id


@pytest.mark.parametrize(
    "agent_id", ["", "ab", "a" * 33, "PRS-1", "-prs", "prs 1", "prs/1", "prś-1", "demo"]
)
def test_an_agent_id_that_is_malformed_or_a_partners_is_refused(agent_id: str) -> None:
    with pytest.raises(AgentIdRefused):
        check_agent_id(agent_id, {"demo", "perisai-bali"})


async def _verifier(store: InMemoryAgentStore, **agency: str) -> SignatureVerifier:
    directory = AgentDirectory(store)
    await directory.refresh()
    return SignatureVerifier(
        {"demo": PartnerSettings(secret=DEMO_SECRET)},
        window_s=300,
        clock=lambda: NOW.timestamp(),
        nonces=InMemoryNonces(),
        agents=directory,
        agencies={
            PERISAI_AGENCY: PartnerSettings(
                **{"secret": "perisai-bali-secret", **agency},  # type: ignore[arg-type]
                channel="perisai",
                timezone="Asia/Makassar",
            )
        },
    )


def _headers(agent_id: str, signature: str, version: str | None = "2") -> dict[str, str]:
    headers = {"x-partner-id": agent_id, "x-timestamp": STAMP, "x-signature": signature}
    if version is not None:
        headers["x-signature-version"] = version
    return headers


async def test_an_agent_signs_as_its_agency_and_is_named_on_the_request() -> None:
    verifier = await _verifier(InMemoryAgentStore(AGENT_KETUT, AGENT_MADE))

    v2 = await verifier.verify_request(
        _headers("prs-bali-0001", KETUT_V2), "POST", INQUIRY_PATH, INQUIRY
    )
    v1 = await verifier.verify_request(
        _headers("prs-bali-0001", KETUT_V1, version=None), "POST", INQUIRY_PATH, INQUIRY
    )

    assert v2 == v1 == KETUT


async def test_an_agent_keeps_signing_while_its_agency_rotates_its_secret_until_it_ends() -> None:
    # KETUT_V2 is signed with the key derived from the agency's old secret.
    rotating = await _verifier(
        InMemoryAgentStore(AGENT_KETUT),
        secret="perisai-bali-secret-2027",
        previous_secret="perisai-bali-secret",
    )
    rotated = await _verifier(InMemoryAgentStore(AGENT_KETUT), secret="perisai-bali-secret-2027")
    request = (_headers("prs-bali-0001", KETUT_V2), "POST", INQUIRY_PATH, INQUIRY)

    assert await rotating.verify_request(*request) == KETUT
    with pytest.raises(Unauthenticated, match="signature does not match"):
        await rotated.verify_request(*request)


async def test_a_revoked_agent_is_refused_from_the_moment_the_store_says_so() -> None:
    store = InMemoryAgentStore(AGENT_KETUT, AGENT_MADE)
    verifier = await _verifier(store)  # its snapshot still lists the agent as active
    await verifier.verify_request(
        _headers("prs-bali-0001", KETUT_V2), "POST", INQUIRY_PATH, INQUIRY
    )

    store.revoke("prs-bali-0001")

    with pytest.raises(Unauthenticated, match="revoked"):
        await verifier.verify_request(
            _headers("prs-bali-0001", KETUT_V2), "POST", INQUIRY_PATH, INQUIRY
        )


async def test_one_agents_key_does_not_sign_as_another_agent() -> None:
    verifier = await _verifier(InMemoryAgentStore(AGENT_KETUT, AGENT_MADE))
    # Made's id in the header, the v2 string signed with Ketut's key over Made's id (openssl).
    made_by_ketut = "bbda371fa4a582934b413d7e17317867d70ce172735f0726d91e8cfb61fc8117"
    for signature in (KETUT_V2, made_by_ketut):
        with pytest.raises(Unauthenticated, match="does not match"):
            await verifier.verify_request(
                _headers("prs-bali-0002", signature), "POST", INQUIRY_PATH, INQUIRY
            )


async def test_the_agencys_own_secret_and_unknown_agents_sign_nothing_on_the_hub_api() -> None:
    verifier = await _verifier(InMemoryAgentStore(AGENT_KETUT))
    with pytest.raises(Unauthenticated, match="unknown partner"):
        await verifier.verify_request(
            _headers(PERISAI_AGENCY, KETUT_V2), "POST", INQUIRY_PATH, INQUIRY
        )
    with pytest.raises(Unauthenticated, match="unknown partner"):
        await verifier.verify_request(
            _headers("prs-bali-0002", KETUT_V2), "POST", INQUIRY_PATH, INQUIRY
        )


async def test_an_agent_whose_record_names_another_agency_signs_nothing() -> None:
    moved = dataclasses.replace(AGENT_KETUT, partner_id="perisai-ntt")
    store = InMemoryAgentStore(AGENT_KETUT)
    verifier = await _verifier(store)  # snapshot: under perisai-bali
    store.records["prs-bali-0001"] = moved
    with pytest.raises(Unauthenticated):
        await verifier.verify_request(
            _headers("prs-bali-0001", KETUT_V2), "POST", INQUIRY_PATH, INQUIRY
        )


@pytest.fixture
def agency_intake(ledger: InMemoryRequestLedger, publisher: FakePublisher) -> IntakeService:
    return IntakeService(ledger, publisher, configured_schedule(), clock=lambda: NOW)


async def test_an_agents_registration_carries_its_agent_id_on_the_event_and_the_inbox_row(
    agency_intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    await agency_intake.submit_registration(
        KETUT, RegistrationRequest(**registration_body("PRS-1"))
    )

    (published,) = publisher.published
    assert published.envelope.agent_id == "prs-bali-0001"
    assert published.envelope.partner_id == PERISAI_AGENCY
    assert json.loads(published.value)["agent_id"] == "prs-bali-0001"
    (held,) = ledger.requests.values()
    assert held.agent_id == "prs-bali-0001"


async def test_an_event_without_an_agent_has_no_agent_id_field_at_all(
    agency_intake: IntakeService, publisher: FakePublisher
) -> None:
    await agency_intake.submit_registration(
        Partner("demo", "hub-api"), RegistrationRequest(**registration_body("REG-1"))
    )
    assert "agent_id" not in json.loads(publisher.published[0].value)


async def test_one_reference_sent_by_two_agents_of_an_agency_is_a_conflict(
    agency_intake: IntakeService, publisher: FakePublisher
) -> None:
    request = RegistrationRequest(**registration_body("PRS-1"))
    await agency_intake.submit_registration(KETUT, request)
    again = await agency_intake.submit_registration(KETUT, request)

    with pytest.raises(ReferenceConflict):
        await agency_intake.submit_registration(MADE, request)
    assert again.reference == "PRS-1"
    assert len(publisher.published) == 1


async def test_a_reversal_sent_before_its_payment_voids_only_that_agents_payment(
    agency_intake: IntakeService, ledger: InMemoryRequestLedger, publisher: FakePublisher
) -> None:
    # Made "reverses" a reference before Ketut's payment under it arrives: it is not
    # Made's payment, so Ketut's is taken as usual. Ketut's own early reversal voids it.
    ledger.members[SARI.nik] = SARI

    def paying(reference: str) -> PaymentRequest:
        return PaymentRequest(
            reference=reference, nik=BALI_WOMAN_NIK, months=1, amount=16_800, paid_at=NOW
        )

    with pytest.raises(NotFound):
        await agency_intake.submit_reversal(
            MADE, ReversalRequest(reference="PRS-REV-9", payment_reference="PRS-PAY-9")
        )
    assert (await agency_intake.submit_payment(KETUT, paying("PRS-PAY-9"))).reference == (
        "PRS-PAY-9"
    )
    with pytest.raises(NotFound):
        await agency_intake.submit_reversal(
            KETUT, ReversalRequest(reference="PRS-REV-10", payment_reference="PRS-PAY-10")
        )
    with pytest.raises(AlreadyReversed):
        await agency_intake.submit_payment(KETUT, paying("PRS-PAY-10"))
    assert [p.envelope.partner_ref for p in publisher.published] == ["PRS-PAY-9"]


async def test_an_agent_sees_and_reverses_only_its_own_requests(
    agency_intake: IntakeService, ledger: InMemoryRequestLedger
) -> None:
    ledger.members[SARI.nik] = SARI
    await agency_intake.submit_registration(
        KETUT, RegistrationRequest(**registration_body("PRS-1"))
    )
    payment = PaymentRequest(
        reference="PRS-PAY-1", nik=BALI_WOMAN_NIK, months=1, amount=16_800, paid_at=NOW
    )
    await agency_intake.submit_payment(KETUT, payment)

    assert (await agency_intake.status(KETUT, "registration", "PRS-1")).agent_id == "prs-bali-0001"
    with pytest.raises(NotFound):
        await agency_intake.status(MADE, "registration", "PRS-1")
    with pytest.raises(NotFound):
        await agency_intake.status(MADE, "payment", "PRS-PAY-1")
    with pytest.raises(NotFound):
        await agency_intake.submit_reversal(
            MADE, ReversalRequest(reference="PRS-REV-1", payment_reference="PRS-PAY-1")
        )
