"""Known answers written from SNAP BI itself, not from this repo's code or its generated page.

docs/channels/bank.md's examples are produced by running the adapter, so a page
regenerated after a behaviour change stays green whatever the behaviour. These
cases are fixed by the standard instead:

- signatures as SNAP BI defines them: the B2B token request signed SHA256withRSA over
  ``X-CLIENT-KEY + "|" + X-TIMESTAMP``; a transaction signed HMAC-SHA512 over
  ``HTTPMethod:EndpointUrl:AccessToken:Lowercase(HexEncode(SHA-256(minify(body)))):TimeStamp``,
  both base64, computed here with the standard library;
- response codes as SNAP BI builds them, HTTP status (3) + service code (2) + case
  code (2), with the standard's response messages (services 73 token, 24 VA
  inquiry, 25 VA payment);
- amounts as SNAP BI writes them: ``{"value": "16800.00", "currency": "IDR"}``, and
  the BPU contribution from the agency's rules (JKK 1 % of the declared income +
  JKM Rp6,800; JHT 2 %): Rp16,800 for Rp1,000,000 without JHT.
"""

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.channels.kit import World, world

CLIENT_KEY = "mandiri"
CLIENT_SECRET = "mandiri-client-secret"  # config/test.toml, [partners.mandiri]
TIMESTAMP = "2026-03-10T09:00:00+07:00"  # the test world's clock, in WIB
KEY = Path(__file__).parent / "keys" / "bank-private.pem"
SARI_KPJ = "00000000018"  # recorded member, JKK + JKM at Rp1,000,000, paid through 2026-02
BILLER = "    8866"  # partnerServiceId: 8 characters, left-padded with spaces


def rsa_signature(client_key: str, timestamp: str) -> str:
    """SNAP BI asymmetric signature: SHA256withRSA(private key, clientKey|X-TIMESTAMP)."""
    key = serialization.load_pem_private_key(KEY.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signed = key.sign(f"{client_key}|{timestamp}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signed).decode()


def hmac_signature(path: str, token: str, body: bytes, secret: str = CLIENT_SECRET) -> str:
    """SNAP BI symmetric signature, HMAC-SHA512 over the standard's string to sign."""
    digest = hashlib.sha256(body).hexdigest().lower()
    string_to_sign = f"POST:{path}:{token}:{digest}:{TIMESTAMP}"
    mac = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha512).digest()
    return base64.b64encode(mac).decode()


def minify(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


async def request_token(w: World, signed_over: str = TIMESTAMP) -> httpx.Response:
    """Ask for an access token at ``TIMESTAMP``, signed over ``signed_over`` with the bank's key."""
    return await w.client.post(
        "/snap/v1.0/access-token/b2b",
        content=minify({"grantType": "client_credentials"}),
        headers={
            "Content-Type": "application/json",
            "X-CLIENT-KEY": CLIENT_KEY,
            "X-TIMESTAMP": TIMESTAMP,
            "X-SIGNATURE": rsa_signature(CLIENT_KEY, signed_over),
        },
    )


async def token(w: World) -> str:
    response = await request_token(w)
    assert (response.status_code, response.json()["responseCode"]) == (200, "2007300")
    assert response.json()["responseMessage"] == "Successful"
    assert response.json()["tokenType"] == "Bearer"
    return str(response.json()["accessToken"])


async def transact(
    w: World,
    path: str,
    body: dict[str, Any],
    external_id: str,
    bearer: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    bearer = bearer if bearer is not None else await token(w)
    content = minify(body)
    return await w.client.post(
        path,
        content=content,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {bearer}",
            "X-TIMESTAMP": TIMESTAMP,
            "X-SIGNATURE": signature or hmac_signature(path, bearer, content),
            "X-PARTNER-ID": CLIENT_KEY,
            "X-EXTERNAL-ID": external_id,
            "CHANNEL-ID": "95221",
        },
    )


def inquiry(customer_no: str = SARI_KPJ, request_id: str = "INQ-1") -> dict[str, Any]:
    return {
        "partnerServiceId": BILLER,
        "customerNo": customer_no,
        "virtualAccountNo": BILLER + customer_no,
        "inquiryRequestId": request_id,
    }


def payment(value: str = "16800.00", request_id: str = "PAY-1") -> dict[str, Any]:
    return {
        "partnerServiceId": BILLER,
        "customerNo": SARI_KPJ,
        "virtualAccountNo": BILLER + SARI_KPJ,
        "paymentRequestId": request_id,
        "paidAmount": {"value": value, "currency": "IDR"},
        "trxDateTime": TIMESTAMP,
    }


def code(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["responseCode"], body["responseMessage"]


INQUIRY = "/snap/v1.0/transfer-va/inquiry"
PAYMENT = "/snap/v1.0/transfer-va/payment"


async def test_a_va_inquiry_is_2002400_successful_with_the_bpu_amount_in_snap_format() -> None:
    async with world() as w:
        response = await transact(w, INQUIRY, inquiry(), "1")
    assert code(response) == (200, "2002400", "Successful")
    data = response.json()["virtualAccountData"]
    assert data["totalAmount"] == {"value": "16800.00", "currency": "IDR"}


async def test_a_va_payment_of_the_amount_due_is_2002500_successful() -> None:
    async with world() as w:
        response = await transact(w, PAYMENT, payment(), "1")
    assert code(response) == (200, "2002500", "Successful")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown virtual account", (404, "2412", "Invalid Bill/Virtual Account")),
        ("missing mandatory field", (400, "2402", "Invalid Mandatory Field {inquiryRequestId}")),
        ("invalid token", (401, "2401", "Invalid Token (B2B)")),
        ("bad signature", (401, "2400", "Unauthorized.")),
        ("external id used twice today", (409, "2400", "Conflict")),
    ],
)
async def test_inquiry_refusals_carry_the_snap_code_of_their_case(
    case: str, expected: tuple[int, str, str]
) -> None:
    status, service_and_case, message = expected
    async with world() as w:
        if case == "unknown virtual account":
            response = await transact(w, INQUIRY, inquiry("99999999999"), "1")
        elif case == "missing mandatory field":
            body = inquiry()
            del body["inquiryRequestId"]
            response = await transact(w, INQUIRY, body, "1")
        elif case == "invalid token":
            response = await transact(w, INQUIRY, inquiry(), "1", bearer="not-issued-by-the-hub")
        elif case == "bad signature":
            forged = hmac_signature(INQUIRY, await token(w), minify(inquiry()), "another-secret")
            response = await transact(w, INQUIRY, inquiry(), "1", signature=forged)
        else:
            await transact(w, INQUIRY, inquiry(), "7")
            response = await transact(w, INQUIRY, inquiry(request_id="INQ-2"), "7")
    got_status, got_code, got_message = code(response)
    assert (got_status, got_code) == (status, f"{status}{service_and_case}")
    assert got_message.startswith(message), got_message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("16000.00", (404, "4042513", "Invalid Amount")),
        ("16800.50", (400, "4002501", "Invalid Field Format {paidAmount.value}")),
    ],
)
async def test_a_payment_of_another_amount_is_refused_with_the_snap_amount_codes(
    value: str, expected: tuple[int, str, str]
) -> None:
    async with world() as w:
        response = await transact(w, PAYMENT, payment(value), "1")
    assert code(response) == expected


async def test_a_payment_request_id_reused_for_another_amount_is_4042518_inconsistent() -> None:
    async with world() as w:
        first = await transact(w, PAYMENT, payment(), "1")
        other = payment(request_id="PAY-1")
        other["customerNo"] = "00000000026"
        other["virtualAccountNo"] = BILLER + "00000000026"
        other["paidAmount"] = {"value": "66800.00", "currency": "IDR"}
        reused = await transact(w, PAYMENT, other, "2")
    assert code(first)[1] == "2002500"
    assert code(reused) == (404, "4042518", "Inconsistent Request")


async def test_a_token_request_not_signed_by_the_banks_key_is_4017300_unauthorized() -> None:
    async with world() as w:
        response = await request_token(w, signed_over="2026-03-10T09:00:01+07:00")
    status, response_code, message = code(response)
    assert (status, response_code) == (401, "4017300")
    assert message.startswith("Unauthorized.")
