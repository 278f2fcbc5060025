"""Every signature scheme against fixed answers computed with ``openssl`` in a shell.

The commands are in docs/security.md next to each vector; none of these answers
was produced by the code under test. A change to any string to sign (a dropped
separator, another field order) turns one of these red.
"""

from adapters.bank import snap
from adapters.brilink import signing as brilink
from adapters.pos import signing as pos
from adapters.retail import alfamart, indomaret
from hub.settings import load_settings
from hub.signing import callback_headers, sign

WIB_TIME = "2026-03-10T09:00:00+07:00"


def test_pos_known_answer() -> None:
    body = b'{"noReferensi":"POS-1"}'
    signature = pos.sign(
        "pos-secret",
        "POST",
        "/pos/v1/pembayaran",
        "pos-jakarta",
        WIB_TIME,
        pos.body_digest(body),
    )
    assert signature == "cfa5f8a72dd8ed112fbd27c3ecd9128d41bb397ff97f13d43f7ad51a5086c48d"


def test_brilink_known_answer() -> None:
    signature = brilink.sign(
        "bri-secret",
        "/brilink/v1/payment",
        "POST",
        "bri",
        "2026-03-10T02:00:00.000Z",
        b'{"journalSeq":"000001"}',
    )
    assert signature == "Yx0/fFO5YagrwQSyBw4IY0XrOH0Gtton+FzMeYDnJtA="


def test_indomaret_known_answer() -> None:
    signature = indomaret.sign("indomaret-secret", b'{"NoTransaksi":"IDM-1"}', "20260310090000")
    assert signature == "6f815207027d61e0fb73d618b64359f361708194c7fde6bc9a82d361ba0bc9e4"


def test_alfamart_known_answer() -> None:
    message = alfamart.string_to_sign(
        "POST", "/alfamart/v1/payment", WIB_TIME, b'{"trx_id":"ALFA-1"}'
    )
    assert alfamart.sign("alfamart-secret", message) == (
        "2EfoHDZ63bexMsHObKz/OqCIvvvhCTsR0GmmB5N3Exb9RCPBySk4Dmn3WAM4PcC0kD+pVqtGZg/U3vor4WwjJg=="
    )


def test_snap_transaction_known_answer() -> None:
    body = b'{"virtualAccountNo":"    886600000000017"}'
    assert snap.body_digest(body) == (
        "63079d8d25da463d9cff09913d8ab618d6b683b5fcaa2a2cbb48f8563c279b0b"
    )
    signature = snap.transaction_signature(
        "mandiri-client-secret", "POST", "/snap/v1.0/transfer-va/inquiry", "TOKEN-1", body, WIB_TIME
    )
    assert signature == (
        "4EXp3M2Z2UlBqdLEU7tE5kKlbxnmGutfLA9hKiI1OcWKP3x0nedxicHTr3qtXO4FfiEmCZx/suc51O+lYP9T+Q=="
    )


SNAP_TOKEN_SIGNATURE = (
    "xJ6iFyEEr8TV6liAszeADgfdB4ECBQoPzQmdYpa4PveffMugjQKnHe2hHmHKOYHKo1EDp5NOj1Ncz0+0NMlnunaXI2oC"
    "oofsqWRdPPmvpgZKp4OmlTIV5ZE9sKYSbL6x3xdM5HAYl+UuihVRrah9lRzcc4JvnxtqUQ30azD7hd//qxm7JMjHgt0W"
    "+PUW3H3eHVFaPjKplrAkmDzwOebfVrj6w4QkQAO6Rx2ViSdzSudaMGDk1hxz5IRcHVJFRt5GAZiMIizaeLk0H6iAcx2I"
    "7G/VhuNIiYPzmN+l4rssn24FLGQ59BDAPLEHPfGDadG3Dk5LfdR0gaM2U89v5c7ERQ=="
)
"""openssl dgst -sha256 -sign tests/channels/bank/keys/bank-private.pem over mandiri|<time>."""


def test_snap_access_token_known_answer_verifies_and_a_changed_one_does_not() -> None:
    pem = load_settings().partners["mandiri"].public_key
    assert pem is not None
    key = snap.load_rsa_public_key(pem)
    assert snap.token_request_signature_matches(key, "mandiri", WIB_TIME, SNAP_TOKEN_SIGNATURE)
    assert not snap.token_request_signature_matches(
        key, "mandiri", "2026-03-10T09:00:01+07:00", SNAP_TOKEN_SIGNATURE
    )
    assert not snap.token_request_signature_matches(key, "bca", WIB_TIME, SNAP_TOKEN_SIGNATURE)


def test_bni46_json_known_answer() -> None:
    signature = sign("bni-secret", "1773108000", b'{"trx_id":"BNI-1"}')
    assert signature == "e51577b50c1931ed3ed479c6a9f1238b5d514f2e76a9b07cb3a07013436c4d43"


def test_callback_known_answer_is_v2_with_the_notification_id_as_nonce() -> None:
    headers = callback_headers(
        "demo-secret",
        "https://partner.example/bpu/callbacks?src=hub",
        "demo",
        "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "1773108000",
        b'{"event":"registration.recorded","reference":"REG-1"}',
    )
    assert headers == {
        "Content-Type": "application/json",
        "X-Notification-Id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "X-Partner-Id": "demo",
        "X-Timestamp": "1773108000",
        "X-Signature-Version": "2",
        "X-Nonce": "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "X-Signature": "342f2edc25ca7372629e40f878f1efa4f3b5c685695cef902dfbb06886c287ee",
    }
