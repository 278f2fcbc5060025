"""The one redaction step: fixed inputs, fixed masked outputs."""

import io
import json
import logging
from contextlib import redirect_stderr
from uuid import UUID

import pytest
import structlog
from pydantic import ValidationError

from hub.intake.requests import RegistrationRequest
from hub.observability.logs import bound_request, configure_logging
from hub.observability.redaction import mask_nik, redact, redact_event, redact_value

NIK = "5171044508900001"


def test_a_nik_keeps_its_region_digits_and_loses_the_rest() -> None:
    assert mask_nik(NIK) == "517104**********"
    assert redact(f"no member for NIK {NIK}.") == "no member for NIK 517104**********."


def test_digit_runs_that_are_not_16_long_are_left_alone() -> None:
    assert redact("KPJ 00000000018, amount 16800, code 886600000000018") == (
        "KPJ 00000000018, amount 16800, code 886600000000018"
    )
    assert redact("51710445089000012") == "51710445089000012"  # 17 digits: not a NIK


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("phone 081234567890 given", "phone 081*******90 given"),
        ("phone +6281234567890", "phone +6281********90"),
        ("phone 0812-3456-7890.", "phone 081*******90."),
        ("'phone': '6281234567890'", "'phone': '6281********90'"),
    ],
)
def test_phone_numbers_keep_only_their_prefix_the_operator_digit_and_last_two(
    text: str, masked: str
) -> None:
    assert redact(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('{"full_name": "Ni Made Ayu"}', '{"full_name": "N* M*** A**"}'),
        ("{'full_name': 'I Wayan Sudiarta'}", "{'full_name': 'I W**** S*******'}"),
        ('"namaLengkap":"SITI RAHMA"', '"namaLengkap":"S*** R****"'),
        ("customer_name='BUDI'", "customer_name='B***'"),
    ],
)
def test_names_given_with_their_key_are_masked(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_structured_fields_are_redacted_by_key_and_by_content() -> None:
    assert redact_value(
        {"full_name": "Ni Made Ayu", "note": f"nik {NIK}", "items": [NIK, 3], "kpj": "00018"}
    ) == {
        "full_name": "N* M*** A**",
        "note": "nik 517104**********",
        "items": ["517104**********", 3],
        "kpj": "00018",
    }


def test_a_validation_error_quoting_the_request_comes_out_without_nik_phone_or_name() -> None:
    body = {
        "reference": "R-1",
        "nik": NIK,
        "full_name": "Ni Made Ayu",
        "birth_date": "1990-08-05",
        "sex": "M",  # disagrees with the NIK (a woman's day + 40)
        "phone": "081234567890",
        "address": "Jl. Bali",
        "occupation": "pedagang",
        "declared_income": "lots",
        "programmes": ["JKK", "JKM"],
    }
    with pytest.raises(ValidationError) as raised:
        RegistrationRequest.model_validate(body)
    text = redact(f"{raised.value!r} {body!r}")
    assert NIK not in text and "081234567890" not in text and "Ni Made Ayu" not in text
    assert "517104**********" in text


def test_every_log_line_is_json_with_the_bound_request_ids_and_nothing_in_clear() -> None:
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("json")
        try:
            with bound_request(partner_id="demo", reference="R-1", event_id="e-1"):
                logging.getLogger("hub.test").warning(
                    "refused %s", NIK, extra={"phone": "+6281234567890", "full_name": "BUDI"}
                )
            try:
                raise ValueError(f"bad row {NIK}")
            except ValueError:
                logging.getLogger("hub.test").exception("failed")
        finally:
            logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "refused 517104**********"
    assert lines[0]["partner_id"] == "demo" and lines[0]["event_id"] == "e-1"
    assert lines[0]["phone"] == "+6281********90" and lines[0]["full_name"] == "B***"
    assert NIK not in stream.getvalue()
    assert "517104**********" in lines[1]["exception"]


def test_request_fields_are_as_before_once_the_request_block_ends() -> None:
    structlog.contextvars.clear_contextvars()
    with bound_request(partner_id="outer", channel="hub-api"):
        with bound_request(partner_id="inner", reference="R-1"):
            inner = structlog.contextvars.get_contextvars()
        outer = structlog.contextvars.get_contextvars()
    assert inner == {"partner_id": "inner", "channel": "hub-api", "reference": "R-1"}
    assert outer == {"partner_id": "outer", "channel": "hub-api"}
    assert structlog.contextvars.get_contextvars() == {}


# Minted by the hub from event ids, they read as personal data to the patterns: 16
# decimal digits as a NIK, "0" then "8" and more digits as a phone number.
EVENT_ID_LIKE_A_PHONE = UUID("743c6407-5d99-4f31-a4d0-0e0850852368")
HUB_REFERENCE_LIKE_A_NIK = "REG-3961566605524300"
HUB_REFERENCE_LIKE_A_PHONE = "PAY-A08123456789B0C1"


def test_the_ids_the_hub_mints_stay_whole_in_a_log_line() -> None:
    for hub_reference in (HUB_REFERENCE_LIKE_A_NIK, HUB_REFERENCE_LIKE_A_PHONE):
        line = {
            "event": "accepted",
            "event_id": EVENT_ID_LIKE_A_PHONE,
            "hub_reference": hub_reference,
        }
        assert redact_event(None, "", line) == {
            "event": "accepted",
            "event_id": "743c6407-5d99-4f31-a4d0-0e0850852368",
            "hub_reference": hub_reference,
        }


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("3961566605524300", "396156**********"),  # a NIK without the hub's prefix
        ("REG-5171044508900001-X", "REG-517104**********-X"),
        ("reg-5171044508900001", "reg-517104**********"),
        ("REG-08123456789", "REG-081******89"),  # not 16 hex digits
    ],
)
def test_a_hub_reference_field_not_in_the_hubs_format_is_redacted(value: str, masked: str) -> None:
    assert redact_event(None, "", {"hub_reference": value}) == {"hub_reference": masked}


def test_hub_ids_as_text_or_inside_a_field_are_redacted_as_any_text() -> None:
    """Only the UUID type and a line's own ``hub_reference`` are known to be the hub's."""
    line = {
        "event_id": "0e0850852368",
        "body": {"hub_reference": HUB_REFERENCE_LIKE_A_NIK},
        "reference": HUB_REFERENCE_LIKE_A_NIK,
    }
    assert redact_event(None, "", line) == {
        "event_id": "0e085*****68",
        "body": {"hub_reference": "REG-396156**********"},
        "reference": "REG-396156**********",
    }
