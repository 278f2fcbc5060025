"""The consumer's decoding: the hub's own envelopes on the fast path, the same events out.

Fixed known answers are the envelopes themselves: what the fast path returns must equal,
field for field and byte for byte when dumped, what the full contract builds from the
same bytes; what the full contract refuses is refused however it arrives.
"""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hub.kafka.envelopes import decode_envelope, is_replayed
from schemas.events import ContributionPaid, EventEnvelope, PaymentReversed
from tests.unit.fakes import BALI_WOMAN_NIK, envelope, registration_payload

PAID_AT = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)


def _events() -> list[EventEnvelope]:
    by_agent = envelope(registration_payload(), partner_ref="REG-AGENT")
    return [
        envelope(registration_payload(), partner_ref="REG-1"),
        by_agent.model_copy(update={"agent_id": "agen-0042"}),
        envelope(registration_payload(outlet_id="KIOS-7"), partner_ref="REG-2"),
        envelope(
            ContributionPaid(nik=BALI_WOMAN_NIK, months=3, amount=50_400, paid_at=PAID_AT),
            partner_ref="PAY-1",
        ),
        envelope(
            PaymentReversed(
                nik=BALI_WOMAN_NIK,
                original_partner_ref="PAY-1",
                reason="cashier timeout",
                reversed_at=PAID_AT,
            ),
            partner_ref="REV-1",
        ),
    ]


@pytest.mark.parametrize("event", _events(), ids=lambda e: e.partner_ref)
def test_an_envelope_the_hub_published_decodes_to_exactly_the_event_it_was(
    event: EventEnvelope,
) -> None:
    raw = event.model_dump_json().encode()
    decoded = decode_envelope(raw)
    assert decoded == event
    assert decoded.payload == event.payload
    assert type(decoded.payload) is type(event.payload)
    assert decoded.model_dump_json() == event.model_dump_json()
    assert decoded.occurred_at.utcoffset() is not None


def _tampered(**changes: object) -> bytes:
    data = json.loads(envelope(registration_payload()).model_dump_json())
    payload_changes = changes.pop("payload", {})
    assert isinstance(payload_changes, dict)
    data.update(changes)
    data["payload"].update(payload_changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"event_type": "RegistrationSubmitted", "surprise": true}',
        _tampered(surprise=True),
        _tampered(schema_version=2),
        _tampered(member_key="3171011203850002"),
        _tampered(event_type="ContributionPaid"),
        _tampered(occurred_at="2026-01-10T03:00:00"),
        _tampered(payload={"declared_income": "1000000"}),
        _tampered(payload={"programmes": ["JKK", "JKM", "JHT", "JP"]}),
        _tampered(payload={"nik": "51710445089000O1"}),
    ],
    ids=[
        "empty",
        "not-json",
        "unknown-field-no-id",
        "unknown-field",
        "unknown-contract-version",
        "key-is-not-the-payloads-nik",
        "header-type-disagrees",
        "naive-time",
        "income-as-text",
        "programme-not-open-to-bpu",
        "nik-with-a-letter",
    ],
)
def test_a_malformed_envelope_is_refused_with_the_contracts_error(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_envelope(raw)


def test_an_envelope_not_in_the_hubs_own_form_is_normalised_by_the_full_contract() -> None:
    raw = _tampered(payload={"full_name": "  ni   made  ayu ", "phone": "0812-3456-7890"})
    decoded = decode_envelope(raw)
    assert decoded.payload.full_name == "NI MADE AYU"  # type: ignore[union-attr]
    assert decoded.payload.phone == "+6281234567890"  # type: ignore[union-attr]


def test_a_replayed_dead_letter_gets_the_whole_contract_business_rules_and_all() -> None:
    # Well formed, but the NIK (a woman, day 45) disagrees with the stated sex.
    raw = _tampered(payload={"sex": "M"})
    assert decode_envelope(raw).payload.sex == "M"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="does not match the NIK"):
        decode_envelope(raw, replayed=True)


def test_only_the_replay_header_marks_a_record_as_replayed() -> None:
    assert is_replayed([("replayed-from", b"member-events.dlq/7"), ("replayed-by", b"ops")])
    assert is_replayed((("replayed-from", b"x"),))
    assert not is_replayed([("redriven-by", b"ops")])
    assert not is_replayed([])
    assert not is_replayed(None)
