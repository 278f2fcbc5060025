"""Writes the examples of docs/channels/bank.md by running them against a test world.

Every request and response on that page comes from here: the requests are signed
as the test bank signs them (tests/channels/bank/driver.py), sent to the real adapter
over a fixed-clock world, and the answers are printed as they came back. Run it after
changing the adapter or the examples:

    HUB_ENV=test .venv/bin/python -m tests.channels.bank.docgen

It rewrites the text between ``<!-- example: NAME -->`` and ``<!-- /example -->``.
"""

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.channels.bank.driver import (
    PARTNER_SERVICE_ID,
    PATHS,
    private_key,
    snap_timestamp,
    token_headers,
    transaction_headers,
)
from tests.channels.kit import BUDI, DOCS, SARI, UNKNOWN_NIK, WAYAN, WORLD_NOW, world

PAGE = DOCS / "bank.md"
NEW_NIK = "3273015507920004"
"""Rina Kartika, a woman born 1992-07-15 in Jawa Barat, registered by the examples."""

TRX_TIME = snap_timestamp(WORLD_NOW)


def va(customer_no: str) -> dict[str, str]:
    return {
        "partnerServiceId": PARTNER_SERVICE_ID,
        "customerNo": customer_no,
        "virtualAccountNo": PARTNER_SERVICE_ID + customer_no,
    }


def inquiry(customer_no: str, request_id: str, **extra: Any) -> dict[str, Any]:
    return {
        **va(customer_no),
        "inquiryRequestId": request_id,
        "trxDateInit": TRX_TIME,
        "channelCode": 6011,
        **extra,
    }


def payment(customer_no: str, request_id: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        **va(customer_no),
        "paymentRequestId": request_id,
        "channelCode": 6011,
        "paidAmount": {"value": value, "currency": "IDR"},
        "trxDateTime": TRX_TIME,
        "flagAdvise": "N",
        **extra,
    }


REGISTRATION = {
    "partnerReferenceNo": "MDR-REG-20260310-0001",
    "nik": NEW_NIK,
    "fullName": "Rina Kartika",
    "birthDate": "1992-07-15",
    "sex": "F",
    "phoneNo": "081298765432",
    "address": "Jl. Braga 10, Bandung",
    "occupation": "penjahit",
    "declaredIncome": {"value": "1000000.00", "currency": "IDR"},
    "programmes": ["JKK", "JKM"],
}


@dataclass
class Example:
    """One documented exchange; ``headers`` override what the bank would send."""

    name: str
    operation: str
    body: dict[str, Any]
    external_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    tweak: Callable[[dict[str, str]], dict[str, str]] | None = None


def _signed_with_dev_key(headers: dict[str, str]) -> dict[str, str]:
    return {**token_headers(WORLD_NOW, private_key("dev-bank-private.pem"))} | {
        "X-CLIENT-KEY": headers["X-CLIENT-KEY"]
    }


EXAMPLES = [
    Example("token", "access-token", {"grantType": "client_credentials"}),
    Example(
        "token-bad-signature",
        "access-token",
        {"grantType": "client_credentials"},
        tweak=_signed_with_dev_key,
    ),
    Example("registration", "registration", REGISTRATION, "10000000000000000001"),
    Example(
        "registration-invalid",
        "registration",
        {
            **REGISTRATION,
            "partnerReferenceNo": "MDR-REG-20260310-0002",
            "declaredIncome": {"value": "1234567.00", "currency": "IDR"},
        },
        "10000000000000000002",
    ),
    Example(
        "inquiry", "inquiry", inquiry(SARI.kpj or "", "INQ-20260310-0001"), "10000000000000000003"
    ),
    Example(
        "inquiry-three-months",
        "inquiry",
        inquiry(BUDI.nik, "INQ-20260310-0002", additionalInfo={"months": 3}),
        "10000000000000000004",
    ),
    Example(
        "inquiry-arrears",
        "inquiry",
        inquiry(WAYAN.kpj or "", "INQ-20260310-0005"),
        "10000000000000000014",
    ),
    Example(
        "inquiry-not-found",
        "inquiry",
        inquiry(UNKNOWN_NIK, "INQ-20260310-0003"),
        "10000000000000000005",
    ),
    Example(
        "payment",
        "payment",
        payment(SARI.kpj or "", "PAY-20260310-0001", "16800.00"),
        "10000000000000000006",
    ),
    Example(
        "payment-advice",
        "payment",
        payment(SARI.kpj or "", "PAY-20260310-0001", "16800.00", flagAdvise="Y"),
        "10000000000000000007",
    ),
    Example(
        "payment-inconsistent",
        "payment",
        payment(SARI.kpj or "", "PAY-20260310-0001", "50400.00", additionalInfo={"months": 3}),
        "10000000000000000008",
    ),
    Example(
        "payment-invalid-amount",
        "payment",
        payment(BUDI.nik, "PAY-20260310-0002", "16800.00"),
        "10000000000000000009",
    ),
    Example(
        "payment-missing-field",
        "payment",
        payment(BUDI.nik, "PAY-20260310-0003", "66800.00", trxDateTime=None),
        "10000000000000000010",
    ),
    Example(
        "payment-invalid-format",
        "payment",
        payment(BUDI.nik, "PAY-20260310-0004", "66800"),
        "10000000000000000011",
    ),
    Example(
        "payment-bad-signature",
        "payment",
        payment(BUDI.nik, "PAY-20260310-0005", "66800.00"),
        "10000000000000000012",
        tweak=lambda h: h | {"X-SIGNATURE": h["X-SIGNATURE"][:-8] + "AAAAAAA="},
    ),
    Example(
        "payment-external-id-reused",
        "payment",
        payment(BUDI.nik, "PAY-20260310-0006", "66800.00"),
        "10000000000000000006",
    ),
    Example(
        "inquiry-bad-token",
        "inquiry",
        inquiry(SARI.kpj or "", "INQ-20260310-0004"),
        "10000000000000000013",
        tweak=lambda h: h | {"Authorization": "Bearer bWFuZGlyaQ.1773108900.bm90LXNpZ25lZA"},
    ),
]


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def minify(body: bytes) -> bytes:
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


async def render() -> dict[str, str]:
    """Each example's markdown, by name, plus the worked signature examples."""
    blocks: dict[str, str] = {}
    token = ""
    async with world() as w:
        for example in EXAMPLES:
            path = PATHS[example.operation]
            body = {k: v for k, v in example.body.items() if v is not None}
            content = pretty(body).encode()
            if example.operation == "access-token":
                headers = token_headers(WORLD_NOW)
            else:
                # The bank signs the minified body; the page shows it indented for reading.
                headers = transaction_headers(
                    path, token, minify(content), WORLD_NOW, example.external_id
                )
            if example.tweak is not None:
                headers = example.tweak(headers)
            response = await w.client.post(path, content=content, headers=headers)
            answer = response.json()
            if example.name == "token":
                token = answer["accessToken"]
                blocks["signature-token"] = _token_worked_example(headers)
            if example.name == "inquiry":
                blocks["signature-transaction"] = _transaction_worked_example(
                    path, token, content, headers
                )
            request_lines = [f"POST {path}", *(f"{k}: {v}" for k, v in headers.items())]
            response_lines = [f"HTTP/1.1 {response.status_code}"]
            response_lines.append(f"X-TIMESTAMP: {response.headers['X-TIMESTAMP']}")
            blocks[example.name] = (
                "```http request\n"
                + "\n".join(request_lines)
                + "\n\n"
                + content.decode()
                + "\n```\n\n```http response\n"
                + "\n".join(response_lines)
                + "\n\n"
                + pretty(answer)
                + "\n```"
            )
    return blocks


def _token_worked_example(headers: dict[str, str]) -> str:
    string_to_sign = f"{headers['X-CLIENT-KEY']}|{headers['X-TIMESTAMP']}"
    return (
        "~~~text\n"
        f"stringToSign = {string_to_sign}\n"
        f"X-SIGNATURE  = base64(SHA256withRSA(bank-private.pem, stringToSign))\n"
        f"             = {headers['X-SIGNATURE']}\n"
        "~~~"
    )


def _transaction_worked_example(
    path: str, token: str, content: bytes, headers: dict[str, str]
) -> str:
    minified = minify(content)
    digest = hashlib.sha256(minified).hexdigest()
    string_to_sign = f"POST:{path}:{token}:{digest}:{headers['X-TIMESTAMP']}"
    return (
        "~~~text\n"
        f"minify(body)        = {minified.decode()}\n"
        f"sha256hex(minified) = {digest}\n"
        f"stringToSign        = {string_to_sign}\n"
        'X-SIGNATURE         = base64(HMAC-SHA512("mandiri-client-secret", stringToSign))\n'
        f"                    = {headers['X-SIGNATURE']}\n"
        "~~~"
    )


def main() -> None:
    blocks = asyncio.run(render())
    text = PAGE.read_text()

    def fill(match: re.Match[str]) -> str:
        return f"<!-- example: {match[1]} -->\n{blocks[match[1]]}\n<!-- /example -->"

    text = re.sub(r"<!-- example: ([a-z-]+) -->\n.*?<!-- /example -->", fill, text, flags=re.S)
    PAGE.write_text(text)
    missing = set(blocks) - set(re.findall(r"<!-- example: ([a-z-]+) -->", text))
    if missing:
        print("examples not placed on the page:", ", ".join(sorted(missing)))


if __name__ == "__main__":
    main()
