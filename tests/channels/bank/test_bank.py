"""The SNAP BI bank channel: tokens, signatures, VA inquiry and payment, registrations.

Signatures in these tests are computed with hashlib, hmac and cryptography directly
(tests/channels/bank/driver.py), never with the adapter's own helpers, so a verifier
that drifted from the standard would fail here.
"""

import base64
import hashlib
import hmac
import json
import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from adapters.bank import BankAdapter, BankOptions
from adapters.bank.snap import (
    AccessTokens,
    load_rsa_public_key,
    minify_json,
    token_request_signature_matches,
    transaction_signature,
    transaction_signature_matches,
)
from hub.channels.base import ChannelContext
from hub.settings import PartnerSettings, load_settings
from schemas.events import RegistrationSubmitted
from tests.channels.bank import driver
from tests.channels.bank.docgen import NEW_NIK, REGISTRATION, inquiry, payment
from tests.channels.kit import (
    BUDI,
    SARI,
    WORLD_NOW,
    World,
    http_examples,
    replay_page,
    samples,
    world,
)
from tests.unit.fakes import InMemoryNonces

SARI_KPJ = SARI.kpj or ""
INQUIRY = driver.PATHS["inquiry"]
PAYMENT = driver.PATHS["payment"]
REGISTER = driver.PATHS["registration"]
TOKEN = driver.PATHS["access-token"]


class Clock:
    """A clock a test can move, shared by the hub and the bank."""

    def __init__(self, now: datetime = WORLD_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def bank_world(
    clock: Clock,
    members: tuple[Any, ...] = (SARI, BUDI),
    nonces: InMemoryNonces | None = None,
    **overrides: Any,
) -> AbstractAsyncContextManager[World]:
    """``kit.world`` with a clock that moves and settings a test may change."""
    return world(members=members, settings=load_settings(**overrides), clock=clock, nonces=nonces)


async def get_token(w: World, at: datetime | None = None, **header_changes: str) -> httpx.Response:
    headers = driver.token_headers(at or w.clock()) | header_changes
    return await w.client.post(
        TOKEN, content=driver.minified({"grantType": "client_credentials"}), headers=headers
    )


async def transact(
    w: World,
    path: str,
    body: Any,
    external_id: str | None = None,
    token: str | None = None,
    at: datetime | None = None,
    **header_changes: str,
) -> httpx.Response:
    """Send a transaction signed as the test bank signs it (minified body)."""
    content = body if isinstance(body, bytes) else driver.minified(body)
    headers = driver.transaction_headers(
        path,
        token or await driver.access_token(w),
        content,
        at or w.clock(),
        external_id or driver.next_external_id(w),
    )
    return await w.client.post(path, content=content, headers=headers | header_changes)


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["responseCode"]
    assert str(response.status_code) == code[:3], "the HTTP status is the code's first 3 digits"
    return code


# --- the documented page -----------------------------------------------------------------


async def test_every_documented_example_is_answered_exactly_as_documented() -> None:
    assert len(await replay_page("bank")) >= 14


def test_the_page_documents_success_and_each_main_refusal() -> None:
    codes = {e.response_body["responseCode"] for e in http_examples("bank")}
    assert {"2007300", "4017300", "2009000", "4009001", "2002400", "4042412"} <= codes
    assert {"2002500", "4042518", "4042513", "4002502", "4002501", "4012500"} <= codes
    assert {"4092500", "4012401"} <= codes


def test_sample_answers_keep_the_http_status_equal_to_the_first_three_digits() -> None:
    for sample in samples("bank"):
        assert sample.expect_code[:3] in {"200", "400", "401", "404", "409"}, sample.path.name


# --- access token (service 73) -----------------------------------------------------------


async def test_a_token_is_issued_for_a_request_signed_with_the_banks_rsa_key() -> None:
    async with world() as w:
        response = await get_token(w)
        assert response.status_code == 200
        answer = response.json()
        assert answer["responseCode"] == "2007300"
        assert answer["responseMessage"] == "Successful"
        assert (answer["tokenType"], answer["expiresIn"]) == ("Bearer", "900")
        inquired = await transact(
            w, INQUIRY, inquiry(SARI_KPJ, "INQ-1"), token=answer["accessToken"]
        )
        assert code_of(inquired) == "2002400"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"X-CLIENT-KEY": "bri"}, id="a partner of another channel"),
        pytest.param({"X-CLIENT-KEY": "bca"}, id="an unknown client key"),
        pytest.param({"X-TIMESTAMP": "2026-03-10T09:00:01+07:00"}, id="signed over another time"),
        pytest.param({"X-SIGNATURE": "bm90IGEgc2lnbmF0dXJl"}, id="not a signature"),
        pytest.param({"X-SIGNATURE": "%%%"}, id="not base64"),
    ],
)
async def test_a_token_request_not_signed_by_the_bank_is_refused_4017300(
    change: dict[str, str],
) -> None:
    async with world() as w:
        response = await get_token(w, **change)
        assert code_of(response) == "4017300"
        assert response.json()["responseMessage"].startswith("Unauthorized. [")


async def test_a_token_request_signed_with_another_banks_key_is_refused_4017300() -> None:
    async with world() as w:
        headers = driver.token_headers(WORLD_NOW, driver.private_key("dev-bank-private.pem"))
        response = await w.client.post(
            TOKEN, content=b'{"grantType":"client_credentials"}', headers=headers
        )
        assert code_of(response) == "4017300"
        assert response.json()["responseMessage"] == "Unauthorized. [Invalid signature]"


async def test_a_token_request_outside_the_timestamp_window_is_refused_4017300() -> None:
    async with world() as w:
        stale = await get_token(w, at=WORLD_NOW - timedelta(seconds=301))
        fresh = await get_token(w, at=WORLD_NOW - timedelta(seconds=299))
    assert code_of(stale) == "4017300"
    assert code_of(fresh) == "2007300"


@pytest.mark.parametrize(
    ("content", "drop", "code", "message"),
    [
        (b'{"grantType":"password"}', None, "4007301", "Invalid Field Format {grantType}"),
        (b"{}", None, "4007302", "Invalid Mandatory Field {grantType}"),
        (b"grantType=client_credentials", None, "4007300", "Bad Request"),
        (b'{"grantType":"client_credentials"}', "X-TIMESTAMP", "4007302", None),
        (b'{"grantType":"client_credentials"}', "X-CLIENT-KEY", "4007302", None),
        (b'{"grantType":"client_credentials"}', "X-SIGNATURE", "4007302", None),
    ],
)
async def test_token_field_errors_use_service_code_73(
    content: bytes, drop: str | None, code: str, message: str | None
) -> None:
    async with world() as w:
        headers = driver.token_headers(WORLD_NOW)
        if drop is not None:
            del headers[drop]
        response = await w.client.post(TOKEN, content=content, headers=headers)
    assert code_of(response) == code
    expected = message or f"Invalid Mandatory Field {{{drop}}}"
    assert response.json()["responseMessage"] == expected


async def test_a_timestamp_without_an_offset_is_an_invalid_field_4007301() -> None:
    async with world() as w:
        key = driver.private_key()
        headers = driver.token_headers(WORLD_NOW) | {
            "X-TIMESTAMP": "2026-03-10T09:00:00",
            "X-SIGNATURE": driver.token_signature(key, "mandiri", "2026-03-10T09:00:00"),
        }
        response = await w.client.post(
            TOKEN, content=b'{"grantType":"client_credentials"}', headers=headers
        )
    assert code_of(response) == "4007301"
    assert response.json()["responseMessage"] == "Invalid Field Format {X-TIMESTAMP}"


async def test_a_token_expires_after_its_lifetime() -> None:
    clock = Clock()
    async with bank_world(clock) as w:
        token = (await get_token(w)).json()["accessToken"]
        clock.now = WORLD_NOW + timedelta(seconds=899)
        assert code_of(await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-1"), token=token)) == (
            "2002400"
        )
        clock.now = WORLD_NOW + timedelta(seconds=900)
        expired = await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-2"), token=token)
    assert code_of(expired) == "4012401"
    assert expired.json()["responseMessage"] == "Invalid Token (B2B)"


async def test_a_token_is_bound_to_the_bank_it_was_issued_to() -> None:
    bsi = PartnerSettings(
        secret="bsi-secret",  # type: ignore[arg-type]
        channel="bank",
        public_key=load_settings().partners["mandiri"].public_key,
    )
    partners = {**load_settings().partners, "bsi": bsi}
    async with bank_world(Clock(), partners=partners) as w:
        mandiri_token = (await get_token(w)).json()["accessToken"]
        content = driver.minified(inquiry(SARI_KPJ, "I-1"))
        headers = driver.transaction_headers(
            INQUIRY, mandiri_token, content, WORLD_NOW, "1", secret="bsi-secret"
        ) | {"X-PARTNER-ID": "bsi"}
        response = await w.client.post(INQUIRY, content=content, headers=headers)
    assert code_of(response) == "4012401"


async def test_a_token_issued_by_one_hub_process_is_accepted_by_another_with_the_same_key() -> None:
    async with world() as first, world() as second:
        token = (await get_token(first)).json()["accessToken"]
        answer = await transact(second, INQUIRY, inquiry(SARI_KPJ, "I-1"), token=token)
    assert code_of(answer) == "2002400"


async def test_without_a_token_key_each_process_accepts_only_its_own_tokens() -> None:
    channels = load_settings().channels
    unkeyed = {**channels, "bank": {**channels["bank"], "token_key": None}}
    async with (
        bank_world(Clock(), channels=unkeyed) as one,
        bank_world(Clock(), channels=unkeyed) as other,
    ):
        token = (await get_token(one)).json()["accessToken"]
        own = await transact(one, INQUIRY, inquiry(SARI_KPJ, "I-1"), token=token)
        foreign = await transact(other, INQUIRY, inquiry(SARI_KPJ, "I-1"), token=token)
    assert (code_of(own), code_of(foreign)) == ("2002400", "4012401")


def test_tokens_cannot_be_extended_or_moved_to_another_client() -> None:
    tokens = AccessTokens(b"k", 900)
    token = tokens.issue("mandiri", WORLD_NOW)
    client, expiry, mac = token.split(".")
    assert tokens.client_key_of(token, WORLD_NOW) == "mandiri"
    assert tokens.client_key_of(f"{client}.{int(expiry) + 3600}.{mac}", WORLD_NOW) is None
    bsi = base64.urlsafe_b64encode(b"bsi").rstrip(b"=").decode()
    assert tokens.client_key_of(f"{bsi}.{expiry}.{mac}", WORLD_NOW) is None
    assert AccessTokens(b"other", 900).client_key_of(token, WORLD_NOW) is None
    for garbage in ("", "a.b", "a.b.c.d", f"{client}.{'9' * 5000}.{mac}", "é.1.é"):
        assert tokens.client_key_of(garbage, WORLD_NOW) is None


# --- signatures exactly as the standard ----------------------------------------------------


def test_the_rsa_verifier_accepts_a_signature_made_with_cryptography_directly() -> None:
    key = driver.private_key()
    public = load_rsa_public_key(load_settings().partners["mandiri"].public_key or "")
    timestamp = "2026-03-10T09:00:00+07:00"
    raw = key.sign(b"mandiri|" + timestamp.encode(), padding.PKCS1v15(), hashes.SHA256())
    signature = base64.b64encode(raw).decode()
    assert token_request_signature_matches(public, "mandiri", timestamp, signature)
    assert not token_request_signature_matches(public, "mandiri", timestamp[:-1] + "1", signature)
    assert not token_request_signature_matches(public, "bsi", timestamp, signature)
    pss = key.sign(
        b"mandiri|" + timestamp.encode(),
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    assert not token_request_signature_matches(
        public, "mandiri", timestamp, base64.b64encode(pss).decode()
    ), "SNAP signs with PKCS#1 v1.5, not PSS"


def test_the_transaction_signature_is_hmac_sha512_over_the_standard_string_to_sign() -> None:
    body = (
        b'{\n  "partnerServiceId": "    8866",\n  "customerNo": "00000000018",\n'
        b'  "note": "a \\" b"\n}'
    )
    minified = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    assert minify_json(body) == minified
    digest = hashlib.sha256(minified).hexdigest()
    message = f"POST:{INQUIRY}:tok:{digest}:2026-03-10T09:00:00+07:00"
    independent = base64.b64encode(
        hmac.new(b"secret", message.encode(), hashlib.sha512).digest()
    ).decode()
    timestamp = "2026-03-10T09:00:00+07:00"
    assert transaction_signature("secret", "POST", INQUIRY, "tok", body, timestamp) == independent
    assert transaction_signature_matches(
        "secret", "POST", INQUIRY, "tok", body, timestamp, independent
    )
    assert not transaction_signature_matches(
        "secret", "POST", PAYMENT, "tok", body, timestamp, independent
    )
    assert not transaction_signature_matches(
        "secret", "POST", INQUIRY, "tok", body, timestamp, "not base64!"
    )


def test_minify_removes_whitespace_only_outside_strings() -> None:
    assert minify_json(b'{ "a" : [ 1, 2 ],\r\n\t"b": "x  y",  "c": "q\\"  z" }') == (
        b'{"a":[1,2],"b":"x  y","c":"q\\"  z"}'
    )
    assert minify_json(b'"\\\\" ') == b'"\\\\"'


async def test_an_indented_body_signed_over_its_minified_form_is_accepted() -> None:
    async with world() as w:
        token = await driver.access_token(w)
        content = json.dumps(inquiry(SARI_KPJ, "INQ-1"), indent=4).encode()
        minified = driver.minified(inquiry(SARI_KPJ, "INQ-1"))
        headers = driver.transaction_headers(INQUIRY, token, minified, WORLD_NOW, "1")
        accepted = await w.client.post(INQUIRY, content=content, headers=headers)
        raw_signed = driver.transaction_headers(INQUIRY, token, content, WORLD_NOW, "2")
        refused = await w.client.post(INQUIRY, content=content, headers=raw_signed)
    assert code_of(accepted) == "2002400"
    assert code_of(refused) == "4012400", "the signature is over the minified body, not the raw one"


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"X-SIGNATURE": "AAAA"}, "4012500", "Unauthorized. [Invalid signature]"),
        ({"X-PARTNER-ID": "bri"}, "4012500", "Unauthorized. [Unknown partner]"),
        ({"Authorization": "Basic bWFuZGlyaQ=="}, "4012501", "Invalid Token (B2B)"),
        ({"Authorization": "Bearer not-a-token"}, "4012501", "Invalid Token (B2B)"),
        (
            {"X-TIMESTAMP": "2026-03-10T08:54:00+07:00"},
            "4012500",
            "Unauthorized. [X-TIMESTAMP out of range]",
        ),
        ({"X-TIMESTAMP": "10/03/2026 09:00"}, "4002501", "Invalid Field Format {X-TIMESTAMP}"),
        ({"X-EXTERNAL-ID": "x" * 37}, "4002501", "Invalid Field Format {X-EXTERNAL-ID}"),
        ({"CHANNEL-ID": "mobile"}, "4002501", "Invalid Field Format {CHANNEL-ID}"),
        ({"X-EXTERNAL-ID": ""}, "4002502", "Invalid Mandatory Field {X-EXTERNAL-ID}"),
        ({"CHANNEL-ID": ""}, "4002502", "Invalid Mandatory Field {CHANNEL-ID}"),
        ({"Authorization": ""}, "4002502", "Invalid Mandatory Field {Authorization}"),
    ],
)
async def test_transaction_headers_absent_are_400x02_malformed_400x01_and_wrong_401x00(
    change: dict[str, str], code: str, message: str
) -> None:
    async with world() as w:
        response = await transact(w, PAYMENT, payment(SARI_KPJ, "P-1", "16800.00"), **change)
        assert code_of(response) == code
        assert response.json()["responseMessage"] == message
        assert w.publisher.published == []


# --- X-EXTERNAL-ID ---------------------------------------------------------------------------


async def test_an_external_id_reused_today_is_409_and_accepted_again_tomorrow() -> None:
    clock = Clock()
    nonces = InMemoryNonces()
    async with bank_world(clock, nonces=nonces) as w:
        first = await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-1"), external_id="777")
        again = await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-2"), external_id="777")
        as_payment = await transact(
            w, PAYMENT, payment(SARI_KPJ, "P-1", "16800.00"), external_id="777"
        )
        clock.now = WORLD_NOW + timedelta(days=1)
        token = (await get_token(w)).json()["accessToken"]
        tomorrow = await transact(
            w, INQUIRY, inquiry(SARI_KPJ, "I-3"), external_id="777", token=token
        )
    assert code_of(first) == "2002400"
    assert (code_of(again), again.json()["responseMessage"]) == ("4092400", "Conflict")
    assert code_of(as_payment) == "4092500"
    assert code_of(tomorrow) == "2002400"


async def test_the_external_id_day_is_the_banks_business_day_in_its_own_time_zone() -> None:
    before_midnight_wib = datetime(2026, 3, 10, 16, 59, tzinfo=UTC)  # 23:59 WIB
    after_midnight_wib = datetime(2026, 3, 10, 17, 1, tzinfo=UTC)  # 00:01 WIB, same UTC day
    clock = Clock(before_midnight_wib)
    async with bank_world(clock) as w:
        first = await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-1"), external_id="555")
        clock.now = after_midnight_wib
        token = (await get_token(w)).json()["accessToken"]
        next_day = await transact(
            w, INQUIRY, inquiry(SARI_KPJ, "I-2"), external_id="555", token=token
        )
    assert (code_of(first), code_of(next_day)) == ("2002400", "2002400")


async def test_a_refused_signature_does_not_use_up_the_banks_external_id() -> None:
    async with world() as w:
        forged = await transact(
            w, INQUIRY, inquiry(SARI_KPJ, "I-1"), external_id="888", **{"X-SIGNATURE": "AAAA"}
        )
        genuine = await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-1"), external_id="888")
    assert (code_of(forged), code_of(genuine)) == ("4012400", "2002400")


# --- inquiry (service 24) --------------------------------------------------------------------


async def test_inquiry_by_kpj_bills_the_next_unpaid_month_with_a_masked_name() -> None:
    async with world() as w:
        response = await transact(w, INQUIRY, inquiry(SARI_KPJ, "INQ-42"))
    data = response.json()["virtualAccountData"]
    assert code_of(response) == "2002400"
    assert data["inquiryRequestId"] == "INQ-42"
    assert data["virtualAccountName"] == "N* M*** S***"
    assert data["totalAmount"] == {"value": "16800.00", "currency": "IDR"}
    assert [b["billNo"] for b in data["billDetails"]] == ["202603"]
    assert data["virtualAccountTrxType"] == "C"


async def test_inquiry_for_twelve_months_lists_twelve_bill_lines_adding_up_to_the_total() -> None:
    async with world() as w:
        response = await transact(
            w, INQUIRY, inquiry(BUDI.nik, "INQ-1", additionalInfo={"months": 12})
        )
    data = response.json()["virtualAccountData"]
    lines = data["billDetails"]
    assert len(lines) == 12
    assert (lines[0]["billNo"], lines[-1]["billNo"]) == ("202603", "202702")
    assert sum(int(line["billAmount"]["value"][:-3]) for line in lines) == 12 * 66_800
    assert data["totalAmount"]["value"] == f"{12 * 66_800}.00"


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {"partnerServiceId": "   12345", "virtualAccountNo": "   12345" + SARI_KPJ},
            "4042412",
            None,
        ),
        ({"customerNo": "12345", "virtualAccountNo": "    886612345"}, "4042412", None),
        (
            {"customerNo": "99999999999", "virtualAccountNo": "    886699999999999"},
            "4042412",
            None,
        ),
        (
            {"customerNo": "9971044508900001", "virtualAccountNo": "    88669971044508900001"},
            "4042412",
            None,
        ),
        (
            {"virtualAccountNo": "    886600000000026"},
            "4002401",
            "Invalid Field Format {virtualAccountNo}",
        ),
        ({"customerNo": "0000000001A"}, "4002401", "Invalid Field Format {customerNo}"),
        ({"customerNo": ""}, "4002402", "Invalid Mandatory Field {customerNo}"),
        ({"inquiryRequestId": None}, "4002402", "Invalid Mandatory Field {inquiryRequestId}"),
        (
            {"additionalInfo": {"months": 2}},
            "4002401",
            "Invalid Field Format {additionalInfo.months}",
        ),
        ({"additionalInfo": "three"}, "4002401", "Invalid Field Format {additionalInfo}"),
    ],
)
async def test_inquiry_refusals(change: dict[str, Any], code: str, message: str | None) -> None:
    body = {**inquiry(SARI_KPJ, "INQ-1"), **change}
    async with world() as w:
        response = await transact(w, INQUIRY, {k: v for k, v in body.items() if v is not None})
    assert code_of(response) == code
    assert response.json()["responseMessage"] == (
        message or "Invalid Bill/Virtual Account [Not Found]"
    )


async def test_a_body_that_is_not_json_is_a_bad_request() -> None:
    async with world() as w:
        inquired = await transact(w, INQUIRY, b"partnerServiceId=8866")
        paid = await transact(w, PAYMENT, b"[1,2]")
    assert (code_of(inquired), code_of(paid)) == ("4002400", "4002500")
    assert paid.json()["responseMessage"] == "Bad Request"


async def test_a_member_paid_as_far_ahead_as_allowed_gets_paid_bill() -> None:
    paid_ahead = replace(SARI, paid_through=date(2027, 3, 1))
    async with bank_world(Clock(), members=(paid_ahead, BUDI)) as w:
        inquired = await transact(w, INQUIRY, inquiry(SARI_KPJ, "INQ-1"))
        paid = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
    assert (code_of(inquired), code_of(paid)) == ("4042414", "4042514")
    assert paid.json()["responseMessage"] == "Paid Bill"


# --- payment (service 25) --------------------------------------------------------------------


async def test_a_payment_is_published_once_as_the_banks_contribution() -> None:
    async with world() as w:
        response = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
        assert code_of(response) == "2002500"
        [event] = [p.envelope for p in w.publisher.published]
    assert (event.channel, event.partner_id, event.partner_ref) == ("bank", "mandiri", "PAY-1")
    assert event.payload.event_type == "ContributionPaid"
    assert (event.payload.nik, event.payload.amount, event.payload.months) == (SARI.nik, 16800, 1)
    assert event.payload.paid_at == WORLD_NOW
    assert response.json()["virtualAccountData"]["referenceNo"].startswith("PAY-")


async def test_a_payment_retried_with_the_same_content_gets_the_original_reference_once() -> None:
    async with world() as w:
        first = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
        advice = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00", flagAdvise="Y"))
        published = len(w.publisher.published)
    assert (code_of(first), code_of(advice)) == ("2002500", "2002500")
    assert first.json() == advice.json()
    assert published == 1


async def test_a_payment_reference_reused_for_different_content_is_inconsistent_4042518() -> None:
    async with world() as w:
        await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
        later = payment(SARI_KPJ, "PAY-1", "16800.00", trxDateTime="2026-03-10T09:05:00+07:00")
        response = await transact(w, PAYMENT, later)
        published = len(w.publisher.published)
    assert code_of(response) == "4042518"
    assert response.json()["responseMessage"] == "Inconsistent Request"
    assert published == 1


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"paidAmount": {"value": "16000.00", "currency": "IDR"}}, "4042513", "Invalid Amount"),
        ({"additionalInfo": {"months": 3}}, "4042513", "Invalid Amount"),
        ({"paidAmount": {"value": "16800.50", "currency": "IDR"}}, "4002501", None),
        ({"paidAmount": {"value": 16800, "currency": "IDR"}}, "4002501", None),
        ({"paidAmount": {"value": "16800.00", "currency": "USD"}}, "4002501", None),
        ({"paidAmount": None}, "4002502", "Invalid Mandatory Field {paidAmount}"),
        ({"paymentRequestId": None}, "4002502", "Invalid Mandatory Field {paymentRequestId}"),
        ({"paymentRequestId": "PAY 1"}, "4002501", "Invalid Field Format {paymentRequestId}"),
        ({"trxDateTime": "2026-03-10T09:00:00"}, "4002501", "Invalid Field Format {trxDateTime}"),
        ({"trxDateTime": ""}, "4002502", "Invalid Mandatory Field {trxDateTime}"),
        (
            {"customerNo": "3201014101900003", "virtualAccountNo": "    88663201014101900003"},
            "4042512",
            "Invalid Bill/Virtual Account [Not Found]",
        ),
    ],
)
async def test_payment_refusals(change: dict[str, Any], code: str, message: str | None) -> None:
    body = {**payment(SARI_KPJ, "PAY-1", "16800.00"), **change}
    async with world() as w:
        response = await transact(w, PAYMENT, {k: v for k, v in body.items() if v is not None})
        assert code_of(response) == code
        if message is not None:
            assert response.json()["responseMessage"] == message
        assert w.publisher.published == []


async def test_a_payment_for_three_months_needs_the_months_in_additional_info() -> None:
    async with world() as w:
        response = await transact(
            w, PAYMENT, payment(BUDI.nik, "PAY-1", "200400.00", additionalInfo={"months": "3"})
        )
        [event] = [p.envelope for p in w.publisher.published]
    assert code_of(response) == "2002500"
    assert (event.payload.months, event.payload.amount) == (3, 200_400)


async def test_when_the_broker_does_not_acknowledge_the_bank_hears_timeout_and_may_retry() -> None:
    async with world() as w:
        w.publisher.down = True
        refused = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
        w.publisher.down = False
        retried = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
    assert (code_of(refused), refused.json()["responseMessage"]) == ("5042500", "Timeout")
    assert refused.headers["Retry-After"] == "7"
    assert code_of(retried) == "2002500"


async def test_an_unexpected_fault_is_a_logged_general_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_: Any) -> Any:
        raise RuntimeError("store exploded")

    async with world() as w:
        w.intake.inquiry = broken  # type: ignore[method-assign]
        w.intake.submit_payment = broken  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="hub.channels"):
            inquired = await transact(w, INQUIRY, inquiry(SARI_KPJ, "INQ-1"))
            paid = await transact(w, PAYMENT, payment(SARI_KPJ, "PAY-1", "16800.00"))
    assert (code_of(inquired), code_of(paid)) == ("5002400", "5002500")
    assert paid.json()["responseMessage"] == "General Error"
    assert "store exploded" in caplog.text


# --- registration (service 90) ---------------------------------------------------------------


async def test_a_registration_is_accepted_and_its_member_can_pay_by_nik_at_once() -> None:
    async with world() as w:
        registered = await transact(w, REGISTER, REGISTRATION)
        inquired = await transact(w, INQUIRY, inquiry(NEW_NIK, "INQ-1"))
        paid = await transact(w, PAYMENT, payment(NEW_NIK, "PAY-1", "16800.00"))
        events = [p.envelope for p in w.publisher.published]
    assert code_of(registered) == "2009000"
    assert registered.json()["partnerReferenceNo"] == REGISTRATION["partnerReferenceNo"]
    assert registered.json()["referenceNo"].startswith("REG-")
    assert inquired.json()["virtualAccountData"]["additionalInfo"]["memberStatus"] == "pending"
    assert code_of(paid) == "2002500"
    assert [e.event_type for e in events] == ["RegistrationSubmitted", "ContributionPaid"]
    registration = events[0].payload
    assert isinstance(registration, RegistrationSubmitted)
    assert (registration.full_name, registration.phone) == ("RINA KARTIKA", "+6281298765432")


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"sex": "M"}, "4009001", "Invalid Field Format"),
        ({"birthDate": "15-07-1992"}, "4009001", "Invalid Field Format {birthDate}"),
        ({"phoneNo": "12345"}, "4009001", "Invalid Field Format {phoneNo}"),
        ({"programmes": ["JKK", "JP"]}, "4009001", "Invalid Field Format {programmes.1}"),
        ({"fullName": None}, "4009002", "Invalid Mandatory Field {fullName}"),
        ({"nik": ""}, "4009002", "Invalid Mandatory Field {nik}"),
        ({"phone": "081298765432"}, "4009001", "Invalid Field Format {phone}"),
        (
            {"declaredIncome": {"value": "1100000.00", "currency": "IDR"}},
            "4009001",
            "Invalid Field Format {declaredIncome}",
        ),
    ],
)
async def test_registration_refusals_name_the_banks_field(
    change: dict[str, Any], code: str, message: str
) -> None:
    body = {**REGISTRATION, **change}
    async with world() as w:
        response = await transact(w, REGISTER, {k: v for k, v in body.items() if v is not None})
    assert code_of(response) == code
    assert response.json()["responseMessage"] == message


async def test_a_registration_reference_reused_for_another_person_is_inconsistent() -> None:
    async with world() as w:
        first = await transact(w, REGISTER, REGISTRATION)
        retried = await transact(w, REGISTER, REGISTRATION)
        other = await transact(w, REGISTER, {**REGISTRATION, "occupation": "petani"})
    assert (code_of(first), code_of(retried), code_of(other)) == ("2009000", "2009000", "4049018")
    assert first.json() == retried.json()


# --- configuration ---------------------------------------------------------------------------


def test_the_adapter_refuses_to_start_for_a_bank_without_an_rsa_public_key() -> None:
    context = ChannelContext(
        intake=None,  # type: ignore[arg-type]
        partners={"bca": PartnerSettings(secret="s", channel="bank")},  # type: ignore[arg-type]
        nonces=InMemoryNonces(),
        clock=lambda: WORLD_NOW,
    )
    with pytest.raises(ValueError, match="bca"):
        BankAdapter(context, BankOptions())


def test_partner_service_id_is_an_option_of_at_most_eight_characters() -> None:
    assert BankOptions().partner_service_id == "8866"
    assert BankOptions(partner_service_id="    8866").partner_service_id == "    8866"
    with pytest.raises(ValueError):
        BankOptions(partner_service_id="123456789")


async def test_a_bank_given_another_biller_id_uses_it_in_its_virtual_accounts() -> None:
    settings = load_settings()
    mandiri = settings.partners["mandiri"]
    partners = {
        **settings.partners,
        "mandiri": mandiri.model_copy(update={"options": {"partner_service_id": "   70012"}}),
    }
    async with bank_world(Clock(), partners=partners) as w:
        body = {
            **inquiry(SARI_KPJ, "I-1"),
            "partnerServiceId": "   70012",
            "virtualAccountNo": "   70012" + SARI_KPJ,
        }
        own = await transact(w, INQUIRY, body)
        default = await transact(w, INQUIRY, inquiry(SARI_KPJ, "I-2"))
    assert (code_of(own), code_of(default)) == ("2002400", "4042412")
