"""Signed requests of the hub API: v1 (timestamp + body) and v2 (the whole request).

The known answers were computed with ``openssl dgst -sha256 -hmac`` in a shell
(see docs/security.md), never with the code under test.
"""

import pytest
from starlette.datastructures import Headers

from hub.errors import Unauthenticated
from hub.intake.model import Partner
from hub.settings import PartnerSettings
from hub.signing import (
    SignatureHeaders,
    SignatureVerifier,
    sign,
    sign_v2,
    string_to_sign_v2,
)
from tests.unit.fakes import DEMO_SECRET, InMemoryNonces

NOW = 1_773_108_000  # 2026-03-10T02:00:00Z
BODY = b'{"reference":"REG-1"}'
INQUIRY = b'{"nik":"5171044508900001","months":1}'
INQUIRY_PATH = "/v1/payments/inquiry"

# printf '%s' '1773108000.{"reference":"REG-1"}' | openssl dgst -sha256 -hmac demo-secret
V1_KNOWN = "3a5112d6c2adcdf889a4cad4b608f36dd7584a8e11a12bc7e41df294c96f7e53"
# printf '%s' '{"nik":"5171044508900001","months":1}' | openssl dgst -sha256
INQUIRY_SHA256 = "5ca01cebb0e4a5d8f1c29b378e61c0a02d4ccabe2e873d152908ecd193b10ec8"
# printf 'BPU-HMAC-SHA256-V2\nPOST\n/v1/payments/inquiry\ndemo\n1773108000\n\n%s' $INQUIRY_SHA256 \
#   | openssl dgst -sha256 -hmac demo-secret
V2_KNOWN = "2e7434417957ba4c9cca14b6953061b6b1dadc3a9bbbf8c7333013a82d337bb8"
# the same with the nonce line "n-0001"
V2_KNOWN_WITH_NONCE = "8bcc19719bd33c64304238054d7ae43c1e5ea48ac8db3822a87f86b90853e0f6"
# GET /v1/registrations/REG-1?x=1, empty body (SHA-256 e3b0c442...b855), no nonce
V2_KNOWN_GET = "ec04d081bccfb6c6c5ed247c6667f61efbe577ea91b886f198344cce6f06d3ce"


def _verifier(now: float = NOW, **partner: object) -> SignatureVerifier:
    partners = {
        "demo": PartnerSettings(**{"secret": DEMO_SECRET, **partner}),  # type: ignore[arg-type]
        "brilink": PartnerSettings(secret="bri-secret", channel="brilink"),
    }
    return SignatureVerifier(partners, window_s=300, clock=lambda: now, nonces=InMemoryNonces())


@pytest.fixture
def verifier() -> SignatureVerifier:
    return _verifier()


def _verify(
    verifier: SignatureVerifier,
    *,
    partner: str | None = "demo",
    timestamp: str | None = str(NOW),
    signature: str | None = None,
    body: bytes = BODY,
) -> Partner:
    if signature is None and timestamp is not None:
        signature = sign(DEMO_SECRET, timestamp, body)
    return verifier.verify(partner, timestamp, signature, body)


def _v2(
    verifier: SignatureVerifier,
    *,
    method: str = "POST",
    target: str = INQUIRY_PATH,
    body: bytes = INQUIRY,
    signature: str = V2_KNOWN,
    timestamp: str = str(NOW),
    nonce: str | None = None,
    partner: str = "demo",
) -> Partner:
    return verifier.verify(
        partner,
        timestamp,
        signature,
        body,
        version="2",
        method=method,
        target=target,
        nonce=nonce,
    )


def test_v1_signature_matches_the_known_answer() -> None:
    assert sign(DEMO_SECRET, str(NOW), BODY) == V1_KNOWN


def test_v2_string_to_sign_is_seven_lines_ending_in_the_body_digest() -> None:
    expected = (
        f"BPU-HMAC-SHA256-V2\nPOST\n{INQUIRY_PATH}\ndemo\n{NOW}\n\n{INQUIRY_SHA256}"
    ).encode()
    assert string_to_sign_v2("post", INQUIRY_PATH, "demo", str(NOW), "", INQUIRY) == expected


@pytest.mark.parametrize(
    ("method", "target", "body", "nonce", "known"),
    [
        ("POST", INQUIRY_PATH, INQUIRY, "", V2_KNOWN),
        ("POST", INQUIRY_PATH, INQUIRY, "n-0001", V2_KNOWN_WITH_NONCE),
        ("GET", "/v1/registrations/REG-1?x=1", b"", "", V2_KNOWN_GET),
    ],
)
def test_v2_signature_matches_the_known_answers(
    method: str, target: str, body: bytes, nonce: str, known: str
) -> None:
    assert sign_v2(DEMO_SECRET, method, target, "demo", str(NOW), body, nonce) == known


def test_v2_known_answer_is_accepted(verifier: SignatureVerifier) -> None:
    assert _v2(verifier) == Partner(partner_id="demo", channel="hub-api")


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("POST", "/v1/payments"),
        ("PUT", INQUIRY_PATH),
        ("POST", INQUIRY_PATH + "?months=12"),
        ("POST", "/v1/payments/inquiry/"),
    ],
)
def test_v2_signature_replayed_on_another_method_or_path_is_refused(
    verifier: SignatureVerifier, method: str, target: str
) -> None:
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _v2(verifier, method=method, target=target)


def test_v2_signature_replayed_by_another_partner_is_refused() -> None:
    verifier = SignatureVerifier(
        {"other": PartnerSettings(secret=DEMO_SECRET)}, window_s=300, clock=lambda: NOW
    )
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _v2(verifier, partner="other")


def test_v2_signature_over_another_body_is_refused(verifier: SignatureVerifier) -> None:
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _v2(verifier, body=INQUIRY.replace(b"1}", b"12}"))


def test_v2_nonce_is_part_of_what_is_signed(verifier: SignatureVerifier) -> None:
    assert _v2(verifier, nonce="n-0001", signature=V2_KNOWN_WITH_NONCE).partner_id == "demo"
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _v2(verifier, nonce="n-0002", signature=V2_KNOWN_WITH_NONCE)


async def test_a_nonce_seen_twice_is_refused(verifier: SignatureVerifier) -> None:
    headers = {
        "x-partner-id": "demo",
        "x-timestamp": str(NOW),
        "x-signature": V2_KNOWN_WITH_NONCE,
        "x-signature-version": "2",
        "x-nonce": "n-0001",
    }
    first = await verifier.verify_request(headers, "POST", INQUIRY_PATH, INQUIRY)
    assert first.partner_id == "demo"
    with pytest.raises(Unauthenticated, match="X-Nonce was already used"):
        await verifier.verify_request(headers, "POST", INQUIRY_PATH, INQUIRY)


@pytest.mark.parametrize("ahead", [31, 60, 299])
def test_timestamp_more_than_thirty_seconds_ahead_is_refused(ahead: int) -> None:
    with pytest.raises(Unauthenticated, match="more than 30 s ahead"):
        _v2(_verifier(now=NOW - ahead))
    with pytest.raises(Unauthenticated, match="more than 30 s ahead"):
        _verify(_verifier(now=NOW - ahead))


@pytest.mark.parametrize("ahead", [0, 1, 30])
def test_timestamp_up_to_thirty_seconds_ahead_is_accepted(ahead: int) -> None:
    assert _v2(_verifier(now=NOW - ahead)).partner_id == "demo"


@pytest.mark.parametrize("age", [0, 1, 300])
def test_timestamp_up_to_three_hundred_seconds_old_is_accepted(age: int) -> None:
    assert _verify(_verifier(now=NOW + age)).partner_id == "demo"


@pytest.mark.parametrize("age", [301, 86_400])
def test_timestamp_more_than_three_hundred_seconds_old_is_refused(age: int) -> None:
    with pytest.raises(Unauthenticated, match="more than 300 s old"):
        _verify(_verifier(now=NOW + age))


def test_v1_is_refused_for_a_partner_no_longer_allowed_it() -> None:
    strict = _verifier(signature_v1_allowed=False)
    with pytest.raises(Unauthenticated, match="sign with version 2"):
        _verify(strict, signature=V1_KNOWN)
    assert _v2(strict).partner_id == "demo"


def test_each_v1_use_is_counted(verifier: SignatureVerifier) -> None:
    from prometheus_client import REGISTRY

    def uses() -> float:
        labels = {"partner": "demo"}
        return REGISTRY.get_sample_value("hub_signature_v1_requests_total", labels) or 0.0

    before = uses()
    _verify(verifier, signature=V1_KNOWN)
    _v2(verifier)
    assert uses() == before + 1


# The same two messages keyed with demo-secret-2027 (openssl, as above): the next secret.
V2_KNOWN_BY_NEXT = "cd7acca5dbe30038637a954f3937bfe930076b3be10fdc68e869130752ff9235"
V1_KNOWN_BY_NEXT = "5e25f59ce0d555bedd8b9dbf81e82d75a244d916495b5684fc8f38a16e5906bb"


def test_while_a_partner_rotates_both_secrets_sign_v1_and_v2_and_afterwards_only_the_new() -> None:
    rotating = _verifier(secret="demo-secret-2027", previous_secret=DEMO_SECRET)
    rotated = _verifier(secret="demo-secret-2027")

    for verifier in (rotating, rotated):
        assert _v2(verifier, signature=V2_KNOWN_BY_NEXT).partner_id == "demo"
        assert _verify(verifier, signature=V1_KNOWN_BY_NEXT).partner_id == "demo"
    assert _v2(rotating, signature=V2_KNOWN).partner_id == "demo"
    assert _verify(rotating, signature=V1_KNOWN).partner_id == "demo"
    for old in (
        lambda: _v2(rotated, signature=V2_KNOWN),
        lambda: _verify(rotated, signature=V1_KNOWN),
    ):
        with pytest.raises(Unauthenticated, match="signature does not match"):
            old()


@pytest.mark.parametrize("version", ["3", "v2", "2.0"])
def test_unknown_signature_version_is_refused(verifier: SignatureVerifier, version: str) -> None:
    with pytest.raises(Unauthenticated, match="must be 1 or 2"):
        verifier.verify("demo", str(NOW), V2_KNOWN, INQUIRY, version=version)


def test_partner_channel_comes_from_its_settings(verifier: SignatureVerifier) -> None:
    signature = sign("bri-secret", str(NOW), BODY)

    assert verifier.verify("brilink", str(NOW), signature, BODY) == Partner("brilink", "brilink")


def test_signature_in_upper_case_or_with_spaces_is_accepted(verifier: SignatureVerifier) -> None:
    assert _verify(verifier, signature=f" {V1_KNOWN.upper()} ").partner_id == "demo"


def test_unknown_partner_is_refused(verifier: SignatureVerifier) -> None:
    with pytest.raises(Unauthenticated, match="unknown partner"):
        _verify(verifier, partner="mallory")


def test_request_signed_with_another_partners_secret_is_refused(
    verifier: SignatureVerifier,
) -> None:
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _verify(verifier, signature=sign("bri-secret", str(NOW), BODY))


def test_body_changed_after_signing_is_refused(verifier: SignatureVerifier) -> None:
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _verify(verifier, signature=V1_KNOWN, body=BODY + b" ")


def test_timestamp_changed_after_signing_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _verify(_verifier(), timestamp=str(NOW + 1), signature=V1_KNOWN)


@pytest.mark.parametrize("missing", ["partner", "timestamp", "signature"])
def test_request_missing_a_signature_header_is_refused(
    verifier: SignatureVerifier, missing: str
) -> None:
    headers: dict[str, str | None] = {
        "partner": "demo",
        "timestamp": str(NOW),
        "signature": V1_KNOWN,
    }
    headers[missing] = None

    with pytest.raises(Unauthenticated, match="are required"):
        verifier.verify(headers["partner"], headers["timestamp"], headers["signature"], BODY)


@pytest.mark.parametrize("stamp", ["yesterday", "1773108000.5", ""])
def test_timestamp_that_is_not_unix_seconds_is_refused(
    verifier: SignatureVerifier, stamp: str
) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify("demo", stamp, V1_KNOWN, BODY)


@pytest.mark.parametrize("signature", ["é" * 64, "g" * 64, "ab" * 31, "ab" * 33])
def test_signature_that_is_not_64_hex_digits_is_refused_before_any_hmac(
    verifier: SignatureVerifier, signature: str
) -> None:
    with pytest.raises(Unauthenticated, match="64 hex digits"):
        _verify(verifier, signature=signature)


def test_signature_headers_from_a_raw_asgi_list_are_the_first_of_each_name_as_a_lookup_gives() -> (
    None
):
    raw = [
        (b"host", b"hub.test"),
        (b"x-timestamp", b"1773108000"),
        (b"x-partner-id", b"demo"),
        (b"x-signature", b"a" * 64),
        (b"x-partner-id", b"other"),  # a second one is ignored, as Headers.get ignores it
        (b"x-nonce", b"n-\xe90001"),  # Latin-1, as ASGI servers pass header bytes
        (b"x-signature-version", b"2"),
    ]

    assert SignatureHeaders.of(Headers(raw=raw)) == SignatureHeaders(
        "demo", "1773108000", "a" * 64, "2", "n-\u00e90001"
    )
    assert SignatureHeaders.of({"x-partner-id": "demo"}) == SignatureHeaders(
        "demo", None, None, None, None
    )


_V2_NONCE_HEADERS = {
    "x-partner-id": "demo",
    "x-timestamp": str(NOW),
    "x-signature": V2_KNOWN_WITH_NONCE,
    "x-signature-version": "2",
    "x-nonce": "n-0001",
}


async def test_a_preflight_kept_at_the_edge_verifies_its_requests_body() -> None:
    verifier = _verifier()
    kept = verifier.preflight_kept(SignatureHeaders.of(_V2_NONCE_HEADERS))
    partner = await verifier.verify_request({}, "POST", INQUIRY_PATH, INQUIRY, kept)
    assert partner.partner_id == "demo"
    with pytest.raises(Unauthenticated, match="signature does not match"):
        await verifier.verify_request({}, "POST", INQUIRY_PATH, INQUIRY + b" ", kept)
    with pytest.raises(Unauthenticated, match="X-Nonce was already used"):
        await verifier.verify_request({}, "POST", INQUIRY_PATH, INQUIRY, kept)


async def test_a_kept_preflight_has_its_timestamp_checked_again_after_the_body() -> None:
    now = [float(NOW)]
    verifier = SignatureVerifier(
        {"demo": PartnerSettings(secret=DEMO_SECRET)}, window_s=300, clock=lambda: now[0]
    )
    kept = verifier.preflight_kept(SignatureHeaders.of(_V2_NONCE_HEADERS))
    now[0] = NOW + 301  # the body came in slowly, past the window
    with pytest.raises(Unauthenticated, match="X-Timestamp"):
        await verifier.verify_request(_V2_NONCE_HEADERS, "POST", INQUIRY_PATH, INQUIRY, kept)


async def test_a_preflight_kept_by_another_verifier_is_not_taken() -> None:
    """Another verifier's partners are not this one's: the headers are read afresh."""
    other = SignatureVerifier(
        {"demo": PartnerSettings(secret=DEMO_SECRET)}, window_s=300, clock=lambda: NOW
    )
    kept = other.preflight_kept(SignatureHeaders.of(_V2_NONCE_HEADERS))
    stranger = SignatureVerifier(
        {"brilink": PartnerSettings(secret="bri-secret", channel="brilink")},
        window_s=300,
        clock=lambda: NOW,
    )
    with pytest.raises(Unauthenticated, match="unknown partner"):
        await stranger.verify_request(_V2_NONCE_HEADERS, "POST", INQUIRY_PATH, INQUIRY, kept)
