"""The canonical envelope: a closed, frozen, self-consistent fact that survives JSON."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.events import ContributionPaid, EventEnvelope, PaymentReversed
from tests.unit.fakes import BALI_WOMAN_NIK, JAKARTA_MAN_NIK, envelope, registration_payload

WITA = timezone(timedelta(hours=8))


def _payment(nik: str = BALI_WOMAN_NIK) -> ContributionPaid:
    return ContributionPaid(
        nik=nik, months=3, amount=50_400, paid_at=datetime(2026, 1, 12, 9, 30, tzinfo=WITA)
    )


def _reversal() -> PaymentReversed:
    return PaymentReversed(
        nik=BALI_WOMAN_NIK,
        original_partner_ref="PAY-1",
        reason="cashier timeout",
        reversed_at=datetime(2026, 1, 12, 1, 31, tzinfo=UTC),
    )


@pytest.mark.parametrize("payload", [registration_payload(), _payment(), _reversal()])
def test_envelope_survives_a_round_trip_through_json(payload: Any) -> None:
    original = envelope(payload)

    again = EventEnvelope.model_validate_json(original.model_dump_json())

    assert again == original
    assert type(again.payload) is type(payload)


def test_envelope_keeps_the_partners_time_zone_through_json() -> None:
    again = EventEnvelope.model_validate_json(envelope(_payment()).model_dump_json())

    assert isinstance(again.payload, ContributionPaid)
    assert again.payload.paid_at.utcoffset() == timedelta(hours=8)


BROKEN_ENVELOPES = {
    # name of the rule: (field of a valid payment's envelope, the value that breaks it, refusal)
    "envelope_refuses_fields_it_does_not_know": (
        "priority",
        "high",
        "Extra inputs are not permitted",
    ),
    "payload_refuses_fields_it_does_not_know": (
        "payload.discount",
        100,
        "Extra inputs are not permitted",
    ),
    "envelope_event_type_must_agree_with_its_payload": (
        "event_type",
        "PaymentReversed",
        "event_type 'PaymentReversed' but payload is",
    ),
    "envelope_member_key_must_be_the_payloads_nik": (
        "member_key",
        JAKARTA_MAN_NIK,
        "member_key must be the payload's NIK",
    ),
    "envelope_refuses_a_naive_timestamp": ("occurred_at", "2026-01-10T10:00:00", "occurred_at"),
    "envelope_refuses_another_schema_version": ("schema_version", 2, "schema_version"),
}


@pytest.mark.parametrize(
    ("field", "value", "refusal"), BROKEN_ENVELOPES.values(), ids=BROKEN_ENVELOPES.keys()
)
def test_an_envelope_breaking_a_rule_is_refused_naming_it(
    field: str, value: object, refusal: str
) -> None:
    data = envelope(_payment()).model_dump(mode="json")
    *parents, name = field.split(".")
    holder = data
    for parent in parents:
        holder = holder[parent]
    holder[name] = value

    with pytest.raises(ValidationError, match=refusal):
        EventEnvelope.model_validate(data)


def test_envelope_is_frozen() -> None:
    event = envelope(_payment())

    with pytest.raises(ValidationError, match="frozen"):
        event.partner_ref = "OTHER"  # type: ignore[misc]


def test_payload_is_frozen() -> None:
    payment = _payment()

    with pytest.raises(ValidationError, match="frozen"):
        payment.amount = 1  # type: ignore[misc]


@pytest.mark.parametrize("programmes", [("JKK",), ("JKM",), ("JKM", "JHT"), ()])
def test_registration_without_both_jkk_and_jkm_is_refused(programmes: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError, match="always includes JKK and JKM"):
        registration_payload(programmes=programmes)


def test_registration_with_a_programme_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        registration_payload(programmes=("JKK", "JKM", "JKM"))


def test_registration_may_add_jht() -> None:
    assert registration_payload(programmes=("JKK", "JKM", "JHT")).programmes == (
        "JKK",
        "JKM",
        "JHT",
    )


@pytest.mark.parametrize("programme", ["JP", "JKP"])
def test_registration_refuses_programmes_closed_to_bpu_members(programme: str) -> None:
    with pytest.raises(ValidationError):
        registration_payload(programmes=("JKK", "JKM", programme))


def test_registration_whose_sex_contradicts_the_nik_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match the NIK"):
        registration_payload(sex="M")


@pytest.mark.parametrize("months", [0, 2, 4, 24])
def test_payment_for_months_other_than_1_3_6_or_12_is_refused(months: int) -> None:
    with pytest.raises(ValidationError):
        ContributionPaid(
            nik=BALI_WOMAN_NIK, months=months, amount=16_800, paid_at=datetime.now(UTC)
        )
