"""Signed partner requests: HMAC-SHA256 over timestamp + "." + body, 300 s replay window."""

import pytest

from hub.api.signing import SignatureVerifier, sign
from hub.errors import Unauthenticated
from hub.intake.service import Partner
from hub.settings import PartnerSettings
from tests.unit.fakes import DEMO_SECRET

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
BODY = b'{"reference":"REG-1"}'


@pytest.fixture
def verifier() -> SignatureVerifier:
    partners = {
        "demo": PartnerSettings(secret=DEMO_SECRET),
        "brilink": PartnerSettings(secret="bri-secret", channel="brilink"),
    }
    return SignatureVerifier(partners, window_s=300)


def _verify(
    verifier: SignatureVerifier,
    *,
    partner: str | None = "demo",
    timestamp: str | None = str(NOW),
    signature: str | None = None,
    body: bytes = BODY,
    now: float = NOW,
) -> Partner:
    if signature is None and timestamp is not None:
        signature = sign(DEMO_SECRET, timestamp, body)
    return verifier.verify(partner, timestamp, signature, body, now=now)


def test_correctly_signed_request_names_the_partner_and_its_channel(
    verifier: SignatureVerifier,
) -> None:
    assert _verify(verifier) == Partner(partner_id="demo", channel="hub-api")


def test_partner_channel_comes_from_its_settings(verifier: SignatureVerifier) -> None:
    stamp = str(NOW)
    signature = sign("bri-secret", stamp, BODY)

    partner = verifier.verify("brilink", stamp, signature, BODY, now=NOW)

    assert partner == Partner(partner_id="brilink", channel="brilink")


def test_signature_is_lowercase_hex_of_hmac_sha256() -> None:
    signature = sign(DEMO_SECRET, "1767225600", b"{}")

    assert len(signature) == 64
    assert signature == signature.lower()
    int(signature, 16)


def test_signature_in_upper_case_or_with_spaces_is_accepted(verifier: SignatureVerifier) -> None:
    signature = " " + sign(DEMO_SECRET, str(NOW), BODY).upper() + " "

    assert _verify(verifier, signature=signature).partner_id == "demo"


@pytest.mark.parametrize("skew", [-300, 300, 0, 299])
def test_timestamp_within_three_hundred_seconds_is_accepted(
    verifier: SignatureVerifier, skew: int
) -> None:
    assert _verify(verifier, now=NOW + skew).partner_id == "demo"


@pytest.mark.parametrize("skew", [-301, 301, 86_400])
def test_timestamp_more_than_three_hundred_seconds_off_is_refused(
    verifier: SignatureVerifier, skew: int
) -> None:
    with pytest.raises(Unauthenticated, match="more than 300 s off"):
        _verify(verifier, now=NOW + skew)


def test_unknown_partner_is_refused(verifier: SignatureVerifier) -> None:
    with pytest.raises(Unauthenticated, match="unknown partner"):
        _verify(verifier, partner="mallory")


def test_request_signed_with_another_partners_secret_is_refused(
    verifier: SignatureVerifier,
) -> None:
    with pytest.raises(Unauthenticated, match="signature does not match"):
        _verify(verifier, signature=sign("bri-secret", str(NOW), BODY))


def test_body_changed_after_signing_is_refused(verifier: SignatureVerifier) -> None:
    signature = sign(DEMO_SECRET, str(NOW), BODY)

    with pytest.raises(Unauthenticated, match="signature does not match"):
        _verify(verifier, signature=signature, body=BODY + b" ")


def test_timestamp_changed_after_signing_is_refused(verifier: SignatureVerifier) -> None:
    signature = sign(DEMO_SECRET, str(NOW), BODY)

    with pytest.raises(Unauthenticated, match="signature does not match"):
        _verify(verifier, timestamp=str(NOW + 1), signature=signature)


@pytest.mark.parametrize("missing", ["partner", "timestamp", "signature"])
def test_request_missing_a_signature_header_is_refused(
    verifier: SignatureVerifier, missing: str
) -> None:
    headers: dict[str, str | None] = {
        "partner": "demo",
        "timestamp": str(NOW),
        "signature": sign(DEMO_SECRET, str(NOW), BODY),
    }
    headers[missing] = None

    with pytest.raises(Unauthenticated, match="are required"):
        verifier.verify(
            headers["partner"], headers["timestamp"], headers["signature"], BODY, now=NOW
        )


@pytest.mark.parametrize("stamp", ["yesterday", "1767225600.5", ""])
def test_timestamp_that_is_not_unix_seconds_is_refused(
    verifier: SignatureVerifier, stamp: str
) -> None:
    with pytest.raises(Unauthenticated):
        verifier.verify("demo", stamp, sign(DEMO_SECRET, stamp, BODY), BODY, now=NOW)


def test_signature_with_non_ascii_characters_is_refused_as_unauthenticated(
    verifier: SignatureVerifier,
) -> None:
    with pytest.raises(Unauthenticated):
        _verify(verifier, signature="é" * 64)
