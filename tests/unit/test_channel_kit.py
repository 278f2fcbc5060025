"""The channel kit's shared rules: signature verification, code tables, partner terms.

Every channel's signature is checked by ``HeaderVerifier``; a bug here would let a
forged or replayed request in on all of them, so each step is pinned with fixed
answers: the known signature below was computed with ``openssl dgst -sha256 -hmac``.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from hub.channels.codes import CodeTable, retry_after
from hub.channels.fields import PartnerTerms
from hub.channels.signatures import (
    HEX_SHA256,
    Body,
    HeaderVerifier,
    SignatureScheme,
    SignedMessage,
    required_headers,
    three_headers,
)
from hub.errors import (
    AlreadyReversed,
    BrokerUnavailable,
    FieldProblem,
    InvalidRequest,
    NotFound,
    RateLimited,
    ReferenceConflict,
    Unauthenticated,
)
from hub.intake.model import Partner
from hub.membership.payment_code import PaymentCodes, nik_or_payment_code

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
SENT = "2026-03-10T09:00:00+07:00"
BODY = b'{"a":1}'
KNOWN = "f972fb19ed427e3cbc7ecd3da7d85c31792d91555f68133f6ea384968e157bc1"
"""printf 'POST\\n/x/v1/pay\\n2026-03-10T09:00:00+07:00\\n{"a":1}' | openssl dgst -sha256
-hmac kit-secret"""


def _string_to_sign(message: SignedMessage) -> bytes:
    head = f"{message.method}\n{message.path}\n{message.claim.timestamp}\n"
    return head.encode() + message.body.bytes


SCHEME = SignatureScheme(
    timestamp_header="X-T",
    signature_header="X-S",
    shape=HEX_SHA256,
    required=required_headers("X-P", "X-T", "X-S"),
    claim=three_headers("X-P", "X-T", "X-S"),
    sent_at=lambda value, partner: datetime.fromisoformat(value),
    string_to_sign=_string_to_sign,
)


KNOWN_BY_NEXT = "465887bf0ae1ae7afdde3cfc18351f8efe1bf4043572f6ae9ab897646e992456"
"""The same message, ``openssl dgst -sha256 -hmac kit-secret-2027``: the new secret."""


def _verifier(now: datetime = NOW) -> HeaderVerifier:
    partners = {
        "kit": (Partner("kit", "x"), ("kit-secret",)),
        # Moving from kit-secret to kit-secret-2027: both sign until the old one is removed.
        "rolling": (Partner("rolling", "x"), ("kit-secret-2027", "kit-secret")),
    }
    return HeaderVerifier(SCHEME, partners.get, lambda: now, window_s=300)


def _previous_secret_uses(partner_id: str) -> float:
    value = REGISTRY.get_sample_value("hub_previous_secret_requests_total", {"partner": partner_id})
    return 0.0 if value is None else value


def _headers(**changes: str) -> Mapping[str, str]:
    headers = {"X-P": "kit", "X-T": SENT, "X-S": KNOWN}
    headers.update(changes)
    return {k: v for k, v in headers.items() if v}


def test_a_request_signed_as_documented_names_its_partner() -> None:
    assert _verifier().verify(_headers(), "POST", "/x/v1/pay", BODY).partner_id == "kit"
    assert _verifier().verify(_headers(**{"X-S": KNOWN.upper()}), "POST", "/x/v1/pay", BODY)


@pytest.mark.parametrize(
    ("what", "headers", "path", "body", "refusal"),
    [
        ("no signature", _headers(**{"X-S": ""}), "/x/v1/pay", BODY, "X-P, X-T and X-S are"),
        ("unknown partner", _headers(**{"X-P": "other"}), "/x/v1/pay", BODY, "unknown partner"),
        ("unreadable time", _headers(**{"X-T": "yesterday"}), "/x/v1/pay", BODY, "Invalid"),
        ("another body", _headers(), "/x/v1/pay", b'{"a":2}', "does not match"),
        ("another path", _headers(), "/x/v1/inquiry", BODY, "does not match"),
        ("last hex digit", _headers(**{"X-S": KNOWN[:-1] + "0"}), "/x/v1/pay", BODY, "match"),
        ("non-ASCII", _headers(**{"X-S": "é" * 64}), "/x/v1/pay", BODY, "does not match"),
    ],
)
def test_a_request_not_signed_by_the_partner_is_refused(
    what: str, headers: Mapping[str, str], path: str, body: bytes, refusal: str
) -> None:
    with pytest.raises(Unauthenticated, match=refusal):
        _verifier().verify(headers, "POST", path, body)


def test_in_a_rotation_both_secrets_sign_and_each_use_of_the_previous_one_is_counted() -> None:
    before = _previous_secret_uses("rolling")
    by_new = _headers(**{"X-P": "rolling", "X-S": KNOWN_BY_NEXT})
    by_previous = _headers(**{"X-P": "rolling", "X-S": KNOWN})

    assert _verifier().verify(by_new, "POST", "/x/v1/pay", BODY).partner_id == "rolling"
    assert _previous_secret_uses("rolling") == before
    assert _verifier().verify(by_previous, "POST", "/x/v1/pay", BODY).partner_id == "rolling"
    assert _previous_secret_uses("rolling") == before + 1


def test_outside_a_rotation_the_next_secret_signs_nothing_and_in_one_a_third_neither() -> None:
    with pytest.raises(Unauthenticated, match="does not match"):
        _verifier().verify(_headers(**{"X-S": KNOWN_BY_NEXT}), "POST", "/x/v1/pay", BODY)
    with pytest.raises(Unauthenticated, match="does not match"):
        _verifier().verify(
            _headers(**{"X-P": "rolling", "X-S": KNOWN[:-1] + "0"}), "POST", "/x/v1/pay", BODY
        )


@pytest.mark.parametrize("offset_s", [-301, 301, -3600, 86_400])
def test_a_signature_outside_the_window_is_refused_even_when_it_matches(offset_s: int) -> None:
    hub_clock = NOW + timedelta(seconds=offset_s)
    with pytest.raises(Unauthenticated, match="X-T is more than 300 s off the hub's clock"):
        _verifier(hub_clock).verify(_headers(), "POST", "/x/v1/pay", BODY)


@pytest.mark.parametrize("offset_s", [-300, 0, 299])
def test_a_signature_inside_the_window_is_accepted(offset_s: int) -> None:
    _verifier(NOW + timedelta(seconds=offset_s)).verify(_headers(), "POST", "/x/v1/pay", BODY)


def test_preflight_refuses_a_signature_without_the_shape_of_one_before_any_body() -> None:
    with pytest.raises(Unauthenticated, match="X-S is missing or malformed"):
        _verifier().preflight(_headers(**{"X-S": "abc"}))


def test_a_streamed_body_is_checked_by_its_digest_alone() -> None:
    verifier = _verifier()
    claimant = verifier.claimant(_headers())
    with pytest.raises(ValueError, match="streamed"):
        verifier.check(claimant, "POST", "/x/v1/pay", Body(None, Body.of(BODY).sha256_hex))


CODES = CodeTable(
    {NotFound: "14", ReferenceConflict: "94", AlreadyReversed: "95", InvalidRequest: "30"},
    otherwise="96",
    status_by_code={"14": 404, "96": 500},
    status_by_error={ReferenceConflict: 409},
)


def test_the_most_specific_listed_class_of_an_error_decides_its_code() -> None:
    assert CODES(AlreadyReversed("reversed")) == ("95", 409)
    assert CODES(ReferenceConflict("reused")) == ("94", 409)
    assert CODES(NotFound("who")) == ("14", 404)
    assert CODES(InvalidRequest("bad")) == ("30", 200)
    assert CODES(RuntimeError("bug")) == ("96", 500)


def test_only_a_refusal_a_retry_can_cure_says_when_to_retry() -> None:
    assert retry_after(BrokerUnavailable("later", 7)) == {"Retry-After": "7"}
    assert retry_after(RateLimited("slow down", 2)) == {"Retry-After": "2"}
    assert retry_after(NotFound("who")) == {}


def test_a_refusal_names_the_fields_in_the_partners_terms() -> None:
    terms = PartnerTerms({"reference": "NoTransaksi", "programmes": "Program"})
    error = InvalidRequest("bad", [FieldProblem("programmes.1", "unknown"), FieldProblem("x", "y")])
    said = terms.refusal(error)
    assert [p.field for p in said.problems] == ["Program.1", "x"]
    assert said.message == "invalid request: Program.1: unknown; x: y"
    with pytest.raises(InvalidRequest) as raised, terms.spoken():
        raise InvalidRequest("bad", [FieldProblem("reference", "too long")])
    assert raised.value.problems[0].field == "NoTransaksi"


@pytest.mark.parametrize(
    ("typed", "nik", "payment_code"),
    [
        ("5171044508900001", "5171044508900001", None),
        ("886600000000018", None, "886600000000018"),
        ("12345", None, "12345"),
    ],
)
def test_a_typed_number_is_a_payment_code_of_ours_or_else_a_16_digit_nik(
    typed: str, nik: str | None, payment_code: str | None
) -> None:
    for codes in (PaymentCodes("8866"), None):
        number = nik_or_payment_code(typed, codes)
        assert (number.nik, number.payment_code) == (nik, payment_code)


def test_a_16_digit_payment_code_of_ours_is_not_taken_for_a_nik() -> None:
    codes = PaymentCodes("88661")
    assert nik_or_payment_code("886610000000001" + "8", codes).payment_code == "8866100000000018"
