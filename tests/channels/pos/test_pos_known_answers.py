"""Known answers written from the Kantor Pos interface text, not from the adapter or its page.

docs/channels/pos.md's examples are produced by running the adapter (``docgen``), so a
regenerated page agrees with whatever the code does. These cases are fixed by the
interface's own words instead, quoted where they are used:

- "`X-Pos-Signature`: lowercase hex HMAC-SHA256, keyed with your secret, of the string
  to sign" and "The string to sign joins five parts with `:`:
  METHOD:path:X-Pos-Agent-Id:X-Pos-Timestamp:lowercase hex SHA-256 of the raw body";
- the response-code table: each code with its `pesan` and HTTP status;
- the amount a member owes from the agency's rules (JKK 1 % of the declared income,
  JKM Rp6,800, JHT 2 %): Rp16,800 a month for Rp1,000,000 without JHT, Rp66,800 for
  Rp2,000,000 with JHT.
"""

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from tests.channels.kit import World, world

AGENT = "pos-jakarta"
SECRET = "pos-secret"  # config/test.toml, [partners.pos-jakarta]
TIMESTAMP = "2026-03-10T09:00:00+07:00"  # the test world's clock, in WIB
SARI_CODE = "886600000000018"  # 8866 + KPJ; JKK + JKM at Rp1,000,000, paid through 2026-02
BUDI_NIK = "3171011203850002"  # JKK + JKM + JHT at Rp2,000,000, never paid


def signature(method: str, path: str, body: bytes, secret: str = SECRET) -> str:
    digest = hashlib.sha256(body).hexdigest()
    string_to_sign = f"{method}:{path}:{AGENT}:{TIMESTAMP}:{digest}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


async def send(w: World, path: str, fields: dict[str, Any], secret: str = SECRET) -> httpx.Response:
    body = json.dumps(fields).encode()
    return await w.client.post(
        path,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Pos-Agent-Id": AGENT,
            "X-Pos-Timestamp": TIMESTAMP,
            "X-Pos-Signature": signature("POST", path, body, secret),
        },
    )


def answer(response: httpx.Response) -> tuple[str, str, int]:
    body = response.json()
    return body["kodeRespon"], body["pesan"], response.status_code


def pay(reference: str, amount: int, months: int = 1) -> dict[str, Any]:
    return {
        "noReferensi": reference,
        "kodeBayar": SARI_CODE,
        "jumlahBulan": months,
        "jumlahBayar": amount,
        "waktuBayar": "2026-03-10T08:58:12+07:00",
    }


@pytest.mark.parametrize(
    ("member", "months", "total"),
    [
        ({"kodeBayar": SARI_CODE}, 1, 16_800),
        ({"kodeBayar": SARI_CODE}, 3, 50_400),
        ({"nik": BUDI_NIK}, 1, 66_800),
        ({"nik": BUDI_NIK}, 12, 801_600),
    ],
)
async def test_an_inquiry_signed_as_the_interface_says_gives_the_agencys_amount(
    member: dict[str, str], months: int, total: int
) -> None:
    async with world() as w:
        response = await send(w, "/pos/v1/inquiry", {**member, "jumlahBulan": months})
    assert answer(response) == ("00", "Sukses", 200)
    assert response.json()["totalTagihan"] == total


async def test_a_signature_over_another_body_path_or_agent_is_63_tidak_berwenang() -> None:
    body = json.dumps({"kodeBayar": SARI_CODE}).encode()
    good = signature("POST", "/pos/v1/inquiry", body)
    headers = {"X-Pos-Agent-Id": AGENT, "X-Pos-Timestamp": TIMESTAMP}
    async with world() as w:
        # "The body is hashed exactly as sent": the same JSON spaced otherwise is another body.
        respaced = await w.client.post(
            "/pos/v1/inquiry",
            content=json.dumps({"kodeBayar": SARI_CODE}, indent=1).encode(),
            headers={**headers, "X-Pos-Signature": good},
        )
        other_path = await w.client.post(
            "/pos/v1/inquiry",
            content=body,
            headers={
                **headers,
                "X-Pos-Signature": signature("POST", "/pos/v1/pembayaran", body),
            },
        )
        genuine = await w.client.post(
            "/pos/v1/inquiry", content=body, headers={**headers, "X-Pos-Signature": good}
        )
    assert answer(respaced) == answer(other_path) == ("63", "Tidak berwenang", 401)
    assert answer(genuine) == ("00", "Sukses", 200)


async def test_each_code_of_the_interface_table_with_its_pesan_and_http_status() -> None:
    async with world() as w:
        paid = await send(w, "/pos/v1/pembayaran", pay("PAY-1", 16_800))
        again = await send(w, "/pos/v1/pembayaran", pay("PAY-1", 16_800))
        reused = await send(w, "/pos/v1/pembayaran", pay("PAY-1", 50_400, months=3))
        wrong_amount = await send(w, "/pos/v1/pembayaran", pay("PAY-2", 16_000))
        unknown = await send(w, "/pos/v1/inquiry", {"nik": "3171011203850099"})
        missing = await send(w, "/pos/v1/pembayaran", {"noReferensi": "PAY-3"})
        no_such = await send(
            w, "/pos/v1/reversal", {"noReferensi": "REV-1", "noReferensiBayar": "NEVER"}
        )
        bad_secret = await send(w, "/pos/v1/inquiry", {"kodeBayar": SARI_CODE}, "wrong")
    assert answer(paid) == answer(again) == ("00", "Sukses", 200)
    assert answer(reused) == ("94", "Nomor referensi sudah dipakai untuk transaksi lain", 409)
    assert answer(wrong_amount) == ("13", "Jumlah bayar tidak sesuai tagihan", 422)
    assert wrong_amount.json()["totalTagihan"] == 16_800
    assert answer(unknown) == ("14", "Peserta tidak ditemukan", 404)
    assert answer(missing) == ("30", "Isian tidak valid", 400)
    assert answer(no_such) == ("25", "Transaksi tidak ditemukan", 404)
    assert answer(bad_secret) == ("63", "Tidak berwenang", 401)
