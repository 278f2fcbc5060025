"""One simulated partner per channel, each speaking its own protocol (docs/channels/*.md).

Every method sends one request the way that partner's host or agent app does (its field
names, its signature, its codes) and returns the answer code and whether it means success.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx
import iso8583
import iso8583.specs
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.signing import sign
from hub.simulator.people import Person, hub_api_registration

WIB = ZoneInfo("Asia/Jakarta")
PROGRAMMES = ["JKK", "JKM"]
INCOME = 1_000_000


@dataclass(frozen=True, slots=True)
class Answer:
    code: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    partner_id: str
    secret: str
    options: Mapping[str, str]


class SimulatedPartner(Protocol):
    channel: str

    async def register(self, p: Person, ref: str) -> Answer: ...
    async def inquiry(self, p: Person, months: int) -> Answer: ...
    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer: ...
    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _code(response: httpx.Response, field: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(body.get(field, f"HTTP {response.status_code}")) if isinstance(body, dict) else ""


class HubApiPartner:
    """The hub's own JSON API (X-Partner-Id, X-Timestamp, HMAC-SHA256 X-Signature)."""

    channel = "hub-api"

    def __init__(self, http: httpx.AsyncClient, who: Credentials) -> None:
        self._http, self._who = http, who

    async def _post(self, path: str, body: dict[str, Any]) -> Answer:
        raw = _json(body)
        ts = str(int(time.time()))
        response = await self._http.post(
            path,
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Partner-Id": self._who.partner_id,
                "X-Timestamp": ts,
                "X-Signature": sign(self._who.secret, ts, raw),
            },
        )
        return Answer(str(response.status_code), response.status_code in (200, 202))

    async def register(self, p: Person, ref: str) -> Answer:
        return await self._post(
            "/v1/registrations", hub_api_registration(p, ref, INCOME, tuple(PROGRAMMES))
        )

    async def inquiry(self, p: Person, months: int) -> Answer:
        return await self._post("/v1/payments/inquiry", {"nik": p.nik, "months": months})

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        return await self._post(
            "/v1/payments",
            {
                "reference": ref,
                "nik": p.nik,
                "months": months,
                "amount": amount,
                "paid_at": _now().isoformat(),
            },
        )

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        return await self._post(
            "/v1/reversals", {"reference": ref, "payment_reference": payment_ref}
        )


class PosPartner:
    """Kantor Pos counters: Indonesian field names, X-Pos-* signature, ``kodeRespon``."""

    channel = "pos"

    def __init__(self, http: httpx.AsyncClient, who: Credentials) -> None:
        self._http, self._who = http, who

    async def _post(self, path: str, body: dict[str, Any]) -> Answer:
        raw = _json(body)
        stamp = _now().astimezone(WIB).isoformat(timespec="seconds")
        # docs/channels/pos.md: hex HMAC-SHA256 of METHOD:path:agent:timestamp:sha256(body).
        agent = self._who.partner_id
        text = f"POST:{path}:{agent}:{stamp}:{hashlib.sha256(raw).hexdigest()}"
        signature = hmac.new(self._who.secret.encode(), text.encode(), hashlib.sha256)
        headers = {
            "X-Pos-Agent-Id": agent,
            "X-Pos-Timestamp": stamp,
            "X-Pos-Signature": signature.hexdigest(),
        }
        response = await self._http.post(
            path, content=raw, headers={**headers, "Content-Type": "application/json"}
        )
        code = _code(response, "kodeRespon")
        return Answer(code, code == "00")

    async def register(self, p: Person, ref: str) -> Answer:
        return await self._post(
            "/pos/v1/pendaftaran",
            {
                "noReferensi": ref,
                "nik": p.nik,
                "namaLengkap": p.full_name,
                "tanggalLahir": p.birth_date.isoformat(),
                "jenisKelamin": "P" if p.sex == "F" else "L",
                "noHp": p.phone,
                "alamat": p.address,
                "pekerjaan": p.occupation,
                "penghasilan": INCOME,
                "program": PROGRAMMES,
                "kodeLoket": "SIM-00001-01",
            },
        )

    async def inquiry(self, p: Person, months: int) -> Answer:
        return await self._post("/pos/v1/inquiry", {"nik": p.nik, "jumlahBulan": months})

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        return await self._post(
            "/pos/v1/pembayaran",
            {
                "noReferensi": ref,
                "nik": p.nik,
                "jumlahBulan": months,
                "jumlahBayar": amount,
                "waktuBayar": _now().astimezone(WIB).isoformat(timespec="seconds"),
                "kodeLoket": "SIM-00001-01",
            },
        )

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        return await self._post(
            "/pos/v1/reversal",
            {"noReferensi": ref, "noReferensiBayar": payment_ref, "alasan": "salah input"},
        )


class BrilinkPartner:
    """BRI host-to-host: BRI-* headers, base64 HMAC-SHA256 over path, verb, client, time, body."""

    channel = "brilink"

    def __init__(self, http: httpx.AsyncClient, who: Credentials) -> None:
        self._http, self._who = http, who

    async def _post(self, path: str, body: dict[str, Any]) -> Answer:
        raw = _json(body)
        at = _now()
        ts = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        client = self._who.partner_id
        payload = f"path={path}&verb=POST&clientId={client}&timestamp={ts}&body=".encode() + raw
        signature = base64.b64encode(
            hmac.new(self._who.secret.encode(), payload, hashlib.sha256).digest()
        ).decode()
        response = await self._http.post(
            path,
            content=raw,
            headers={
                "BRI-Client-Id": client,
                "BRI-Timestamp": ts,
                "BRI-Signature": signature,
                "Content-Type": "application/json",
            },
        )
        code = _code(response, "responseCode")
        return Answer(code, code == "00")

    async def register(self, p: Person, ref: str) -> Answer:
        return await self._post(
            "/brilink/v1/registration",
            {
                "journalSeq": ref,
                "nik": p.nik,
                "fullName": p.full_name,
                "birthDate": p.birth_date.isoformat(),
                "gender": p.sex,
                "phoneNo": p.phone,
                "address": p.address,
                "occupation": p.occupation,
                "declaredIncome": INCOME,
                "programs": PROGRAMMES,
                "agentId": "BRILINK-SIM-0001",
            },
        )

    async def inquiry(self, p: Person, months: int) -> Answer:
        return await self._post("/brilink/v1/inquiry", {"nik": p.nik, "months": months})

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        return await self._post(
            "/brilink/v1/payment",
            {
                "journalSeq": ref,
                "nik": p.nik,
                "months": months,
                "amount": amount,
                "transactionDateTime": _now().astimezone(WIB).isoformat(timespec="seconds"),
                "agentId": "BRILINK-SIM-0001",
            },
        )

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        return await self._post(
            "/brilink/v1/reversal",
            {"journalSeq": ref, "origJournalSeq": payment_ref, "remark": "agent timeout"},
        )


class IndomaretPartner:
    """Indomaret's host: capitalised Indonesian fields, X-Indomaret-* HMAC-SHA256, ``RC``."""

    channel = "indomaret"

    def __init__(self, http: httpx.AsyncClient, who: Credentials) -> None:
        self._http, self._who = http, who

    async def _post(self, operation: str, body: dict[str, Any]) -> Answer:
        raw = _json(body)
        ts = _now().astimezone(WIB).strftime("%Y%m%d%H%M%S")
        signature = hmac.new(self._who.secret.encode(), raw + ts.encode(), hashlib.sha256)
        response = await self._http.post(
            f"/indomaret/v1/{operation}",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Indomaret-Client-Id": self._who.partner_id,
                "X-Indomaret-Timestamp": ts,
                "X-Indomaret-Signature": signature.hexdigest(),
            },
        )
        code = _code(response, "RC")
        return Answer(code, code == "00")

    async def register(self, p: Person, ref: str) -> Answer:
        return await self._post(
            "registration",
            {
                "NoTransaksi": ref,
                "KodeToko": "TSIM01",
                "NIK": p.nik,
                "NamaLengkap": p.full_name,
                "TglLahir": p.birth_date.strftime("%d-%m-%Y"),
                "JenisKelamin": "P" if p.sex == "F" else "L",
                "NoHP": p.phone,
                "Alamat": p.address,
                "Pekerjaan": p.occupation,
                "Penghasilan": INCOME,
                "Program": ",".join(PROGRAMMES),
            },
        )

    async def inquiry(self, p: Person, months: int) -> Answer:
        return await self._post(
            "inquiry", {"KodeBayar": p.nik, "KodeToko": "TSIM01", "JumlahBulan": months}
        )

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        return await self._post(
            "payment",
            {
                "NoTransaksi": ref,
                "KodeBayar": p.nik,
                "KodeToko": "TSIM01",
                "JumlahBulan": months,
                "Nominal": amount,
                "TglTransaksi": _now().astimezone(WIB).strftime("%Y%m%d%H%M%S"),
            },
        )

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        # Indomaret reverses by the payment's own NoTransaksi.
        return await self._post(
            "reversal",
            {
                "NoTransaksi": payment_ref,
                "KodeToko": "TSIM01",
                "Nominal": amount,
                "Alasan": "timeout di kasir",
            },
        )


class AlfamartPartner:
    """Alfamart's host: snake_case fields, ``Authorization: ALFA id:HMAC-SHA512``, 4-digit codes."""

    channel = "alfamart"

    def __init__(self, http: httpx.AsyncClient, who: Credentials) -> None:
        self._http, self._who = http, who

    async def _post(self, operation: str, body: dict[str, Any]) -> Answer:
        path = f"/alfamart/v1/{operation}"
        raw = _json(body)
        ts = _now().astimezone(WIB).isoformat(timespec="seconds")
        text = f"POST\n{path}\n{ts}\n{hashlib.sha256(raw).hexdigest()}"
        signature = base64.b64encode(
            hmac.new(self._who.secret.encode(), text.encode(), hashlib.sha512).digest()
        ).decode()
        response = await self._http.post(
            path,
            content=raw,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"ALFA {self._who.partner_id}:{signature}",
                "X-Alfa-Timestamp": ts,
            },
        )
        code = _code(response, "response_code")
        return Answer(code, code == "0000")

    async def register(self, p: Person, ref: str) -> Answer:
        return await self._post(
            "registration",
            {
                "trx_id": ref,
                "store_code": "ASIM1",
                "nik": p.nik,
                "name": p.full_name,
                "birth_date": p.birth_date.isoformat(),
                "gender": p.sex,
                "phone": p.phone,
                "address": p.address,
                "occupation": p.occupation,
                "income": INCOME,
                "programs": PROGRAMMES,
            },
        )

    async def inquiry(self, p: Person, months: int) -> Answer:
        return await self._post(
            "inquiry", {"store_code": "ASIM1", "payment_code": p.nik, "months": months}
        )

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        return await self._post(
            "payment",
            {
                "trx_id": ref,
                "store_code": "ASIM1",
                "payment_code": p.nik,
                "months": months,
                "amount": amount,
                "datetime": _now().astimezone(WIB).isoformat(timespec="seconds"),
            },
        )

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        return await self._post(
            "reversal",
            {
                "trx_id": ref,
                "original_trx_id": payment_ref,
                "store_code": "ASIM1",
                "amount": amount,
                "reason": "store timeout",
            },
        )


class BankPartner:
    """A bank over SNAP BI: RSA-signed B2B token, HMAC-SHA512 transactions, 7-character codes.

    SNAP's virtual-account services have no reversal: ``reverse`` is not offered.
    """

    channel = "bank"
    PREFIX = "    8866"

    def __init__(self, http: httpx.AsyncClient, who: Credentials, key: rsa.RSAPrivateKey) -> None:
        self._http, self._who, self._key = http, who, key
        self._token: str | None = None
        self._lock = asyncio.Lock()

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is None:
                ts = _now().astimezone(WIB).isoformat(timespec="seconds")
                message = f"{self._who.partner_id}|{ts}".encode()
                signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
                response = await self._http.post(
                    "/snap/v1.0/access-token/b2b",
                    content=_json({"grantType": "client_credentials"}),
                    headers={
                        "Content-Type": "application/json",
                        "X-CLIENT-KEY": self._who.partner_id,
                        "X-TIMESTAMP": ts,
                        "X-SIGNATURE": base64.b64encode(signature).decode(),
                    },
                )
                response.raise_for_status()
                self._token = str(response.json()["accessToken"])
            return self._token

    async def _post(self, path: str, body: dict[str, Any]) -> Answer:
        token = await self._access_token()
        raw = _json(body)
        ts = _now().astimezone(WIB).isoformat(timespec="seconds")
        digest = hashlib.sha256(raw).hexdigest()
        message = f"POST:{path}:{token}:{digest}:{ts}".encode()
        signature = base64.b64encode(
            hmac.new(self._who.secret.encode(), message, hashlib.sha512).digest()
        ).decode()
        response = await self._http.post(
            path,
            content=raw,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "X-TIMESTAMP": ts,
                "X-SIGNATURE": signature,
                "X-PARTNER-ID": self._who.partner_id,
                "X-EXTERNAL-ID": f"{random.getrandbits(60):020d}",
                "CHANNEL-ID": "95221",
            },
        )
        code = _code(response, "responseCode")
        return Answer(code, code.startswith("200"))

    async def register(self, p: Person, ref: str) -> Answer:
        return await self._post(
            "/snap/v1.0/bpu/registration",
            {
                "partnerReferenceNo": ref,
                "nik": p.nik,
                "fullName": p.full_name,
                "birthDate": p.birth_date.isoformat(),
                "sex": p.sex,
                "phoneNo": p.phone,
                "address": p.address,
                "occupation": p.occupation,
                "declaredIncome": {"value": f"{INCOME}.00", "currency": "IDR"},
                "programmes": PROGRAMMES,
            },
        )

    async def inquiry(self, p: Person, months: int) -> Answer:
        return await self._post(
            "/snap/v1.0/transfer-va/inquiry",
            {
                "partnerServiceId": self.PREFIX,
                "customerNo": p.nik,
                "virtualAccountNo": self.PREFIX + p.nik,
                "inquiryRequestId": f"INQ-{random.getrandbits(40):x}",
                "trxDateInit": _now().astimezone(WIB).isoformat(timespec="seconds"),
                "channelCode": 6011,
            },
        )

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        return await self._post(
            "/snap/v1.0/transfer-va/payment",
            {
                "partnerServiceId": self.PREFIX,
                "customerNo": p.nik,
                "virtualAccountNo": self.PREFIX + p.nik,
                "paymentRequestId": ref,
                "channelCode": 6011,
                "paidAmount": {"value": f"{amount}.00", "currency": "IDR"},
                "trxDateTime": _now().astimezone(WIB).isoformat(timespec="seconds"),
                "flagAdvise": "N",
            },
        )

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        raise NotImplementedError("SNAP BI virtual-account payments have no reversal")


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return key


_ISO8583_ASCII = iso8583.specs.default_ascii
"""BNI 46's dialect as its page gives it: ISO 8583:1987 in ASCII with hex bitmaps, no
header, each message framed by a 2-byte big-endian length. The switch builds its
messages from that spec, as a partner would, not from the hub's own codec."""


class Bni46Partner:
    """BNI's switch: ISO 8583 over TCP (inquiry 0200/380000, payment 0200/180000, reversal 0400)
    and the agents' registrations as signed JSON."""

    channel = "bni46"

    def __init__(self, http: httpx.AsyncClient, who: Credentials, iso_port: int | None) -> None:
        self._http, self._who, self._port = http, who, iso_port
        self._acquirer = who.options.get("acquirer_id", "009")
        self._stan = random.randrange(1, 900_000)  # noqa: S311
        self._sent: dict[str, dict[str, str]] = {}

    async def register(self, p: Person, ref: str) -> Answer:
        raw = _json(
            {
                "trx_id": ref,
                "nik": p.nik,
                "customer_name": p.full_name,
                "birth_date": p.birth_date.isoformat(),
                "gender": "P" if p.sex == "F" else "L",
                "customer_phone": p.phone,
                "customer_address": p.address,
                "occupation": p.occupation,
                "monthly_income": INCOME,
                "programs": PROGRAMMES,
                "agent_id": "AGEN-BNI-SIM01",
            }
        )
        ts = str(int(time.time()))
        response = await self._http.post(
            "/bni46/v1/registrations",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Partner-Id": self._who.partner_id,
                "X-Timestamp": ts,
                "X-Signature": sign(self._who.secret, ts, raw),
            },
        )
        code = _code(response, "response_code")
        return Answer(code, code == "00")

    def _fields(self, processing: str, amount: int, rrn: str, bill: str) -> dict[str, str]:
        self._stan = self._stan % 999_999 + 1
        now = _now()
        local = now.astimezone(WIB)
        return {
            "3": processing,
            "4": f"{amount * 100:012d}",
            "7": now.strftime("%m%d%H%M%S"),
            "11": f"{self._stan:06d}",
            "12": local.strftime("%H%M%S"),
            "13": local.strftime("%m%d"),
            "32": self._acquirer,
            "37": rrn,
            "41": "BNI46SIM",
            "42": "AGEN-BNI-SIM01 ",
            "49": "360",
            "48": bill,
        }

    async def _exchange(self, mti: str, fields: dict[str, str]) -> Answer:
        if self._port is None:
            return Answer("no ISO port", False)
        reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
        try:
            message, _ = iso8583.encode({"t": mti, **fields}, _ISO8583_ASCII)
            writer.write(len(message).to_bytes(2, "big") + message)
            await writer.drain()
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 10), "big")
            answer, _ = iso8583.decode(
                await asyncio.wait_for(reader.readexactly(size), 10), _ISO8583_ASCII
            )
        finally:
            writer.close()
        code = answer.get("39", "?")
        return Answer(code, code == "00")

    async def inquiry(self, p: Person, months: int) -> Answer:
        rrn = f"{random.getrandbits(36) % 10**12:012d}"
        return await self._exchange(
            "0200", self._fields("380000", 0, rrn, f"{p.nik:<20}{months:02d}")
        )

    async def pay(self, p: Person, ref: str, months: int, amount: int) -> Answer:
        rrn = f"{int(hashlib.sha256(ref.encode()).hexdigest(), 16) % 10**12:012d}"
        fields = self._fields("180000", amount, rrn, f"{p.nik:<20}{months:02d}")
        self._sent[ref] = fields
        return await self._exchange("0200", fields)

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        original = self._sent.get(payment_ref)
        if original is None:
            return Answer("unknown payment", False)
        fields = dict(original)
        self._stan = self._stan % 999_999 + 1
        fields["11"] = f"{self._stan:06d}"
        fields["90"] = (
            "0200" + original["11"] + original["7"] + original["32"].rjust(11, "0") + "0" * 11
        )
        fields.pop("48", None)
        return await self._exchange("0400", fields)
