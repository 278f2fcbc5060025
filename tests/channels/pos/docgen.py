"""Writes the generated parts of docs/channels/pos.md by running the real adapter.

    .venv/bin/python -m tests.channels.pos.docgen

Every example request is signed and sent to ``kit.world()`` (fixed clock, recorded
members SARI and BUDI), in order, and its real answer is written under it. The
worked signature example is computed the same way. ``test_pos.py`` replays the
examples verbatim and checks that this script would write the page as it is.
"""

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.pos.signing import body_digest, signed_headers, string_to_sign
from adapters.pos.wire import (
    INQUIRY_PATH,
    PAYMENT_PATH,
    PAYMENT_STATUS_PATH,
    REGISTRATION_PATH,
    REGISTRATION_STATUS_PATH,
    REVERSAL_PATH,
    UPLOAD_PATH,
)
from hub.errors import BrokerUnavailable
from tests.channels.doc_page import replace_generated
from tests.channels.kit import (
    DOCS,
    SARI_PAYMENT_CODE,
    UNKNOWN_NIK,
    WAYAN_PAYMENT_CODE,
    World,
    world,
)
from tests.channels.pos.driver import AGENT, SECRET, timestamp

PAGE = DOCS / "pos.md"
BROKER_DOWN_TITLES = frozenset({"Temporarily unavailable: the event store did not acknowledge"})
"""Examples sent while the broker does not acknowledge (the replay test does the same)."""

DEWI = {
    "noReferensi": "LKT-0001",
    "nik": "5171015505920003",
    "namaLengkap": "Dewi Lestari",
    "tanggalLahir": "1992-05-15",
    "jenisKelamin": "P",
    "noHp": "0813-3700-1122",
    "alamat": "Jl. Gatot Subroto 12, Denpasar",
    "pekerjaan": "penjahit",
    "penghasilan": 1500000,
    "program": ["JKK", "JKM", "JHT"],
    "kodeLoket": "DPS-80000-01",
}
AGENT_FILE = "\n".join(
    [
        "noReferensi,nik,namaLengkap,tanggalLahir,jenisKelamin,noHp,alamat,pekerjaan,"
        "penghasilan,program,kodeLoket",
        'AGN-0001,5171014203880004,Ni Ketut Ayu,1988-03-02,P,081337001133,"Br. Kaja, Ubud",'
        "pedagang,1000000,JKK+JKM,AGN-UBUD",
        "AGN-0002,5171011407750005,I Wayan Sudiarta,1975-07-14,L,081337001144,Br. Kelod,"
        "petani,1000000,JKK+JKM+JHT,AGN-UBUD",
        "AGN-0003,5171011407750006,I Made Bagus,1975-07-15,L,081337001155,Br. Tengah,"
        "nelayan,1000000,JKK+JKM,AGN-UBUD",
        "AGN-0004,5171015008990007,Ni Luh Sekar,1999-08-10,P,081337001166,Br. Tengah,"
        "pedagang,1250000,JKK+JKM,AGN-UBUD",
    ]
)


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    path: str
    body: bytes
    content_type: str = "application/json"
    secret: str = SECRET


def _json(wire: dict[str, object]) -> bytes:
    return json.dumps(wire, indent=2, ensure_ascii=False).encode()


EXAMPLES = [
    Example("Registration accepted", REGISTRATION_PATH, _json(DEWI)),
    Example("Registration status", REGISTRATION_STATUS_PATH, _json({"noReferensi": "LKT-0001"})),
    Example(
        "Invalid fields",
        REGISTRATION_PATH,
        _json(
            {
                **{k: v for k, v in DEWI.items() if k != "noHp"},
                "noReferensi": "LKT-0002",
                "tanggalLahir": "1992-05-16",
                "penghasilan": "1500000",
            }
        ),
    ),
    Example(
        "Reference already used for different content",
        REGISTRATION_PATH,
        _json({**DEWI, "pekerjaan": "pedagang"}),
    ),
    Example(
        "Inquiry by payment code",
        INQUIRY_PATH,
        _json({"kodeBayar": SARI_PAYMENT_CODE, "jumlahBulan": 3}),
    ),
    Example(
        "Inquiry with arrears (tunggakan)",
        INQUIRY_PATH,
        _json({"kodeBayar": WAYAN_PAYMENT_CODE, "jumlahBulan": 1}),
    ),
    Example(
        "Inquiry of an unknown member", INQUIRY_PATH, _json({"nik": UNKNOWN_NIK, "jumlahBulan": 1})
    ),
    Example(
        "Payment accepted",
        PAYMENT_PATH,
        _json(
            {
                "noReferensi": "LKT-PAY-0001",
                "kodeBayar": SARI_PAYMENT_CODE,
                "jumlahBulan": 3,
                "jumlahBayar": 50400,
                "waktuBayar": "2026-03-10T08:58:12+07:00",
                "kodeLoket": "DPS-80000-01",
            }
        ),
    ),
    Example(
        "Wrong amount",
        PAYMENT_PATH,
        _json(
            {
                "noReferensi": "LKT-PAY-0002",
                "nik": "3171011203850002",
                "jumlahBulan": 1,
                "jumlahBayar": 60000,
                "waktuBayar": "2026-03-10T08:59:00+07:00",
            }
        ),
    ),
    Example(
        "Temporarily unavailable: the event store did not acknowledge",
        PAYMENT_PATH,
        _json(
            {
                "noReferensi": "LKT-PAY-0003",
                "nik": "3171011203850002",
                "jumlahBulan": 1,
                "jumlahBayar": 66800,
                "waktuBayar": "2026-03-10T08:59:30+07:00",
            }
        ),
    ),
    Example(
        "Reversal accepted",
        REVERSAL_PATH,
        _json(
            {
                "noReferensi": "LKT-REV-0001",
                "noReferensiBayar": "LKT-PAY-0001",
                "alasan": "salah input jumlah bulan",
            }
        ),
    ),
    Example(
        "Payment status, with its reversal",
        PAYMENT_STATUS_PATH,
        _json({"noReferensi": "LKT-PAY-0001"}),
    ),
    Example(
        "Reversal of an unknown payment",
        REVERSAL_PATH,
        _json({"noReferensi": "LKT-REV-0002", "noReferensiBayar": "LKT-PAY-9999"}),
    ),
    Example(
        "Unauthorised: wrong secret",
        INQUIRY_PATH,
        _json({"kodeBayar": SARI_PAYMENT_CODE, "jumlahBulan": 1}),
        secret="not-the-secret",
    ),
    Example("Upload of an agent's file", UPLOAD_PATH, AGENT_FILE.encode(), "text/csv"),
    Example(
        "The same file uploaded again: the same answer",
        UPLOAD_PATH,
        AGENT_FILE.encode(),
        "text/csv",
    ),
    Example(
        "A file without its header row",
        UPLOAD_PATH,
        "\n".join(AGENT_FILE.splitlines()[1:3]).encode(),
        "text/csv",
    ),
]


@asynccontextmanager
async def broker_down(w: World) -> AsyncIterator[None]:
    """The world's broker stops acknowledging, as the Kafka publisher then reports it."""

    async def no_acknowledgement(key: str, value: bytes) -> None:
        raise BrokerUnavailable(
            "the event store did not acknowledge in time; retry with the same reference"
        )

    publish: Callable[[str, bytes], object] = w.publisher.publish
    w.publisher.publish = no_acknowledgement  # type: ignore[method-assign]
    try:
        yield
    finally:
        w.publisher.publish = publish  # type: ignore[method-assign]


def request_block(example: Example) -> str:
    headers = {
        "Content-Type": example.content_type,
        **signed_headers(AGENT, example.secret, "POST", example.path, example.body, timestamp()),
    }
    head = "\n".join(f"{k}: {v}" for k, v in headers.items())
    return f"```http request\nPOST {example.path} HTTP/1.1\n{head}\n\n{example.body.decode()}\n```"


def response_block(status: int, headers: dict[str, str], body: object) -> str:
    shown = {"Content-Type": headers["content-type"]}
    if "retry-after" in headers:
        shown["Retry-After"] = headers["retry-after"]
    head = "\n".join(f"{k}: {v}" for k, v in shown.items())
    text = json.dumps(body, indent=2, ensure_ascii=False)
    return f"```http response\nHTTP/1.1 {status}\n{head}\n\n{text}\n```"


async def examples_section() -> str:
    parts: list[str] = []
    async with world() as w:
        for example in EXAMPLES:
            headers = {
                "Content-Type": example.content_type,
                **signed_headers(
                    AGENT, example.secret, "POST", example.path, example.body, timestamp()
                ),
            }
            if example.title in BROKER_DOWN_TITLES:
                async with broker_down(w):
                    response = await w.client.post(
                        example.path, content=example.body, headers=headers
                    )
            else:
                response = await w.client.post(example.path, content=example.body, headers=headers)
            parts.append(
                f"### {example.title}\n\n{request_block(example)}\n\n"
                f"{response_block(response.status_code, dict(response.headers), response.json())}"
            )
    return "\n\n".join(parts)


def signature_section() -> str:
    example = EXAMPLES[0]
    digest = body_digest(example.body)
    headers = signed_headers(AGENT, SECRET, "POST", example.path, example.body, timestamp())
    return "\n".join(
        [
            f"For the first example below (agent `{AGENT}`, secret `{SECRET}`), the body's "
            f"SHA-256 is\n\n```\n{digest}\n```\n",
            "so the string to sign is\n",
            f"```\n{string_to_sign('POST', example.path, AGENT, timestamp(), digest)}\n```\n",
            f"and `X-Pos-Signature` is\n\n```\n{headers['X-Pos-Signature']}\n```\n",
            "In a shell:\n",
            "```bash\n"
            "digest=$(printf '%s' \"$body\" | sha256sum | cut -d' ' -f1)\n"
            f"printf '%s' \"POST:{example.path}:{AGENT}:$ts:$digest\" \\\n"
            f"  | openssl dgst -sha256 -hmac '{SECRET}' | sed 's/^.* //'\n"
            "```",
        ]
    )


async def render(page: str) -> str:
    """The page with its generated blocks written from real answers."""
    page = replace_generated(PAGE, page, "signature", signature_section())
    return replace_generated(PAGE, page, "examples", await examples_section())


def main() -> int:
    page = PAGE.read_text()
    rendered = asyncio.run(render(page))
    if rendered != page:
        PAGE.write_text(rendered)
        print(f"wrote {PAGE}")
    else:
        print(f"{PAGE} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
