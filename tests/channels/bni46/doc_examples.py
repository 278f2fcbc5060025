"""The examples of docs/channels/bni46.md, produced by running them against ``kit.world()``.

    .venv/bin/python -m tests.channels.bni46.doc_examples

rewrites the generated parts of the page (between ``<!-- generated: NAME -->`` and
``<!-- end generated -->``) from what the real code answers on the worlds' fixed clock.
Nothing there is typed by hand; test_bni46.py replays every example verbatim.
"""

import asyncio
import json
import os
import re
from dataclasses import dataclass

from adapters.bni46 import iso
from hub.signing import sign
from tests.channels.bni46 import driver
from tests.channels.kit import (
    BUDI,
    BUDI_PAYMENT_CODE,
    DOCS,
    SARI,
    UNKNOWN_NIK,
    WAYAN_PAYMENT_CODE,
    WORLD_NOW,
    world,
)

PAGE = DOCS / "bni46.md"
STAMP = int(WORLD_NOW.timestamp())


def _bill(member: str, months: int) -> str:
    return member.ljust(20) + f"{months:02d}"


def _sent(stan: str, rrn: str, at: str = "0310020000", acquirer: str = "009") -> dict[str, str]:
    return {
        "7": at,
        "11": stan,
        "12": "090000",
        "13": "0310",
        "32": acquirer,
        "37": rrn,
        "41": "BNI46T01",
        "42": "AGEN-BNI-00017 ",
        "49": "360",
    }


def _original(stan: str, at: str = "0310020000") -> str:
    return "0200" + stan + at + "009".rjust(11, "0") + "0" * 11


@dataclass(frozen=True)
class IsoExample:
    title: str
    text: str
    fields: dict[str, str]
    cut: int = 0
    """Bytes cut off the end of the message (the frame's length says the shorter size)."""

    def frame(self) -> bytes:
        message = iso.encode(self.fields)
        return iso.frame(message[: len(message) - self.cut])


ISO_EXAMPLES = [
    IsoExample(
        "Echo test",
        "The switch checks the link; sign-on (`001`) and sign-off (`002`) look the same.",
        {"t": "0800", "7": "0310020000", "11": "000001", "70": "301"},
    ),
    IsoExample(
        "Inquiry by NIK",
        "One month for a member paid through February 2026. Field 4 of the answer is the "
        "amount due; field 48 the bill.",
        {
            "t": "0200",
            "3": "380000",
            "4": iso.amount_field(0),
            **_sent("000002", "606902000002"),
            "48": _bill(SARI.nik, 1),
        },
    ),
    IsoExample(
        "Inquiry by payment code",
        "Three months for a member who never paid (inactive), named by payment code.",
        {
            "t": "0200",
            "3": "380000",
            "4": iso.amount_field(0),
            **_sent("000003", "606902000003"),
            "48": _bill(BUDI_PAYMENT_CODE, 3),
        },
    ),
    IsoExample(
        "Inquiry with arrears",
        "One month for a member paid through January 2026 whose KPJ came from the agency's "
        "core: field 48 names 1 month of arrears (February, settled first) and covers February "
        "and March; field 4 is Rp33,600.",
        {
            "t": "0200",
            "3": "380000",
            "4": iso.amount_field(0),
            **_sent("000031", "606902000031"),
            "48": _bill(WAYAN_PAYMENT_CODE, 1),
        },
    ),
    IsoExample(
        "Payment",
        "The amount is the one the inquiry gave. Field 48 of the answer ends with the hub "
        "reference, the receipt number.",
        {
            "t": "0200",
            "3": "180000",
            "4": iso.amount_field(16_800),
            **_sent("000004", "606902000004"),
            "48": _bill(SARI.nik, 1),
        },
    ),
    IsoExample(
        "Payment sent again with the same RRN",
        "The switch did not get the answer and retransmits (new STAN and field 7, same RRN, "
        "fields 12 and 13): approved again with the same receipt; the member pays once.",
        {
            "t": "0200",
            "3": "180000",
            "4": iso.amount_field(16_800),
            **_sent("000005", "606902000004", at="0310020030"),
            "48": _bill(SARI.nik, 1),
        },
    ),
    IsoExample(
        "Payment of the wrong amount",
        "One month for this member is Rp66,800, not Rp60,000: `13`. Inquire again.",
        {
            "t": "0200",
            "3": "180000",
            "4": iso.amount_field(60_000),
            **_sent("000006", "606902000006"),
            "48": _bill(BUDI.nik, 1),
        },
    ),
    IsoExample(
        "RRN of an earlier payment reused for another bill",
        "Same RRN as the payment above, different member and amount: `94`, nothing changes.",
        {
            "t": "0200",
            "3": "180000",
            "4": iso.amount_field(66_800),
            **_sent("000007", "606902000004"),
            "48": _bill(BUDI.nik, 1),
        },
    ),
    IsoExample(
        "Inquiry for a NIK of no member",
        "A well-formed NIK that no member or registration has: `14`.",
        {
            "t": "0200",
            "3": "380000",
            "4": iso.amount_field(0),
            **_sent("000008", "606902000008"),
            "48": _bill(UNKNOWN_NIK, 1),
        },
    ),
    IsoExample(
        "Payment from an acquirer that is not a partner",
        "Field 32 names no configured partner: `63`.",
        {
            "t": "0200",
            "3": "180000",
            "4": iso.amount_field(66_800),
            **_sent("000009", "606902000009", acquirer="014"),
            "48": _bill(BUDI.nik, 1),
        },
    ),
    IsoExample(
        "Reversal",
        "Field 37 is the RRN of the payment to take back; field 90 names the original 0200.",
        {
            "t": "0400",
            "3": "180000",
            "4": iso.amount_field(16_800),
            **_sent("000010", "606902000004", at="0310020100"),
            "90": _original("000004"),
        },
    ),
    IsoExample(
        "Reversal repeated (0401)",
        "The 0410 did not arrive; the repeat carries the same STAN and gets the same answer.",
        {
            "t": "0401",
            "3": "180000",
            "4": iso.amount_field(16_800),
            **_sent("000010", "606902000004", at="0310020130"),
            "90": _original("000004"),
        },
    ),
    IsoExample(
        "Reversal of a payment the hub never received",
        "No payment with this RRN came from you: `25`. If the payment was sent, it may still "
        "be on its way: repeat the reversal (0401).",
        {
            "t": "0400",
            "3": "180000",
            "4": iso.amount_field(16_800),
            **_sent("000011", "606902000099"),
            "90": _original("000099"),
        },
    ),
    IsoExample(
        "Truncated message",
        "A 0200 whose frame ends in the middle of field 41. The answer repeats every field "
        "read before the fault and says `30`; the connection stays open.",
        {
            "t": "0200",
            "3": "180000",
            "4": iso.amount_field(16_800),
            **_sent("000012", "606902000012"),
            "48": _bill(SARI.nik, 1),
        },
        cut=45,
    ),
]


@dataclass(frozen=True)
class HttpCall:
    title: str
    text: str
    method: str
    path: str
    body: dict[str, object] | None = None
    secret: str = driver.SECRET


REGISTRATION = {
    "trx_id": "BNI-REG-20260310-0001",
    "nik": "3273015707920004",
    "customer_name": "Siti Rahmawati",
    "birth_date": "1992-07-17",
    "gender": "P",
    "customer_phone": "081234567891",
    "customer_address": "Jl. Cihampelas 12, Bandung",
    "occupation": "pedagang",
    "monthly_income": 1000000,
    "programs": ["JKK", "JKM"],
    "agent_id": "AGEN-BNI-00017",
}

HTTP_EXAMPLES = [
    HttpCall("Registration accepted", "", "POST", driver.REGISTRATIONS, REGISTRATION),
    HttpCall(
        "The same registration sent again",
        "Same `trx_id`, same content: the same answer; one registration.",
        "POST",
        driver.REGISTRATIONS,
        REGISTRATION,
    ),
    HttpCall(
        "Same trx_id, different content",
        "",
        "POST",
        driver.REGISTRATIONS,
        {**REGISTRATION, "occupation": "penjahit"},
    ),
    HttpCall(
        "NIK that disagrees with the birth date",
        "",
        "POST",
        driver.REGISTRATIONS,
        {**REGISTRATION, "trx_id": "BNI-REG-20260310-0002", "birth_date": "1992-07-18"},
    ),
    HttpCall(
        "Missing and invalid fields",
        "Each field is named as you sent it.",
        "POST",
        driver.REGISTRATIONS,
        {
            **{key: value for key, value in REGISTRATION.items() if key != "customer_phone"},
            "trx_id": "BNI-REG-20260310-0004",
            "gender": "X",
        },
    ),
    HttpCall(
        "Wrong signature",
        "Signed with another secret.",
        "POST",
        driver.REGISTRATIONS,
        {**REGISTRATION, "trx_id": "BNI-REG-20260310-0003"},
        secret="not-the-secret",
    ),
    HttpCall(
        "Status of a registration",
        "`accepted` until the membership store records it; then `recorded` with the `kpj`.",
        "GET",
        f"{driver.REGISTRATIONS}/BNI-REG-20260310-0001",
    ),
    HttpCall(
        "Status of a trx_id never accepted",
        "",
        "GET",
        f"{driver.REGISTRATIONS}/BNI-REG-20260310-9999",
    ),
]


def _hex(data: bytes) -> str:
    """16 bytes a line, as hex dumps show them."""
    return "\n".join(
        " ".join(f"{b:02x}" for b in data[i : i + 16]) for i in range(0, len(data), 16)
    )


def field_table(fields: dict[str, str]) -> str:
    rows = ["| field | name | value |", "|---|---|---|"]
    for key in sorted(
        fields, key=lambda k: (k.isdigit(), int(k) if k.isdigit() else "tp1".find(k))
    ):
        name = iso.SPEC[key].get("desc", "")
        rows.append(f"| {key} | {name} | `{fields[key]}` |")
    return "\n".join(rows)


def _iso_block(frame: bytes, role: str) -> str:
    block = f"```hex {role}\n{_hex(frame)}\n```\n"
    try:
        fields = iso.decode(frame[2:])
    except iso.MalformedMessage:
        return block
    return f"{block}\n{field_table(fields)}\n"


async def iso_markdown() -> str:
    parts = []
    async with world() as w:
        port = driver.iso_port(w)
        for example in ISO_EXAMPLES:
            request = example.frame()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            prefix = await reader.readexactly(2)
            response = prefix + await reader.readexactly(int.from_bytes(prefix, "big"))
            writer.close()
            await writer.wait_closed()
            parts.append(
                f"### {example.title}\n\n{example.text}\n\n"
                f"{_iso_block(request, 'request')}\n{_iso_block(response, 'response')}"
            )
    return "\n".join(parts)


async def http_markdown() -> str:
    parts = []
    async with world() as w:
        for call in HTTP_EXAMPLES:
            body = b"" if call.body is None else json.dumps(call.body, indent=2).encode()
            headers = driver.signed_headers(body, STAMP, call.secret)
            if call.body is None:
                del headers["Content-Type"]
            response = await w.client.request(call.method, call.path, content=body, headers=headers)
            head = "\n".join(
                [f"{call.method} {call.path}", *(f"{k}: {v}" for k, v in headers.items())]
            )
            answer_headers = "".join(
                f"\n{name}: {response.headers[name]}"
                for name in ("Retry-After",)
                if name in response.headers
            )
            text = f"{call.text}\n\n" if call.text else ""
            shown = body.decode() + "\n" if body else ""
            parts.append(
                f"### {call.title}\n\n{text}"
                f"```http request\n{head}\n\n{shown}```\n\n"
                f"```http response\nHTTP/1.1 {response.status_code}{answer_headers}\n\n"
                f"{json.dumps(response.json(), indent=2, ensure_ascii=False)}\n```\n"
            )
    return "\n".join(parts)


def signature_markdown() -> str:
    body = json.dumps(REGISTRATION, indent=2)
    return (
        "```text\n"
        f"secret       {driver.SECRET}\n"
        f"X-Timestamp  {STAMP}\n"
        f"signed text  {STAMP}.{{...the body of the first example below, byte for byte...}}\n"
        f"X-Signature  {sign(driver.SECRET, str(STAMP), body.encode())}\n"
        "\n"
        "A GET signs an empty body:\n"
        f"signed text  {STAMP}.\n"
        f"X-Signature  {sign(driver.SECRET, str(STAMP), b'')}\n"
        "```\n"
    )


def _replace(page: str, name: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end generated -->)", re.S)
    if not pattern.search(page):
        raise SystemExit(f"{PAGE}: no <!-- generated: {name} --> section")
    return pattern.sub(lambda m: m.group(1) + "\n" + content + "\n" + m.group(2), page)


async def main() -> None:
    page = PAGE.read_text()
    page = _replace(page, "signature", signature_markdown())
    page = _replace(page, "iso", await iso_markdown())
    page = _replace(page, "http", await http_markdown())
    PAGE.write_text(page)


if __name__ == "__main__":
    os.environ.setdefault("HUB_ENV", "test")  # the partners of config/test.toml sign the examples
    asyncio.run(main())
