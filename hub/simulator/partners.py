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

from hub.membership.particulars import Particulars
from hub.signing import sign, signed_headers_v2
from hub.simulator.people import in_terms_of

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

    async def register(self, p: Particulars, ref: str) -> Answer: ...
    async def inquiry(self, p: Particulars, months: int) -> Answer: ...
    async def pay(self, p: Particulars, ref: str, months: int, amount: int) -> Answer: ...
    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _wib_now() -> str:
    """The partner's own clock (WIB), ISO 8601 to the second."""
    return _now().astimezone(WIB).isoformat(timespec="seconds")


def _code(response: httpx.Response, field: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(body.get(field, f"HTTP {response.status_code}")) if isinstance(body, dict) else ""


def _hub_signed(who: Credentials, raw: bytes) -> dict[str, str]:
    """The hub API's own headers (docs/api.md): partner, unix time, HMAC-SHA256 signature."""
    ts = str(int(time.time()))
    return {
        "X-Partner-Id": who.partner_id,
        "X-Timestamp": ts,
        "X-Signature": sign(who.secret, ts, raw),
    }


_ROUTES = {
    "hub-api": ("registrations", "payments/inquiry", "payments", "reversals"),
    "pos": ("pendaftaran", "inquiry", "pembayaran", "reversal"),
    "brilink": ("registration", "inquiry", "payment", "reversal"),
    "indomaret": ("registration", "inquiry", "payment", "reversal"),
    "alfamart": ("registration", "inquiry", "payment", "reversal"),
    "bni46": ("registrations", "", "", ""),
    "bank": ("bpu/registration", "transfer-va/inquiry", "transfer-va/payment", ""),
}
"""Each JSON channel's registration, inquiry, payment and reversal paths, under its
prefix: ``/<channel>/v1/`` but for the hub's own API and SNAP BI."""
_PREFIXES = {"hub-api": "/v1/", "bank": "/snap/v1.0/"}
_REGISTER, _INQUIRE, _PAY, _REVERSE = range(4)

_REGISTRATION = {
    "hub-api": ("reference", "declared_income", "programmes"),
    "pos": ("noReferensi", "penghasilan", "program"),
    "brilink": ("journalSeq", "declaredIncome", "programs"),
    "indomaret": ("NoTransaksi", "Penghasilan", "Program"),
    "alfamart": ("trx_id", "income", "programs"),
    "bni46": ("trx_id", "monthly_income", "programs"),
}
"""A registration's own reference, declared income and programmes, per channel (the
person's own fields: ``people.in_terms_of``)."""

_PAYMENT = {
    "hub-api": ("reference", "nik", "months", "amount", "paid_at"),
    "pos": ("noReferensi", "nik", "jumlahBulan", "jumlahBayar", "waktuBayar"),
    "brilink": ("journalSeq", "nik", "months", "amount", "transactionDateTime"),
    "indomaret": ("NoTransaksi", "KodeBayar", "JumlahBulan", "Nominal", "TglTransaksi"),
    "alfamart": ("trx_id", "payment_code", "months", "amount", "datetime"),
}
"""A payment's reference, payer (NIK or payment code), months, amount and time, per
channel; an inquiry names the payer and the months alike."""

_OUTLET = {
    "pos": ("kodeLoket", "SIM-00001-01", False),
    "brilink": ("agentId", "BRILINK-SIM-0001", False),
    "indomaret": ("KodeToko", "TSIM01", True),
    "alfamart": ("store_code", "ASIM1", True),
    "bni46": ("agent_id", "AGEN-BNI-SIM01", False),
}
"""The counter, agent or store a request comes from, on registrations and payments
(and inquiries, where the last is true)."""


class JsonPartner:
    """A partner host that posts signed JSON: what sets one apart is how it signs
    (``_headers``), how it answers (``_answer``) and its reversal; its paths and field
    names are the tables above."""

    channel = "hub-api"
    code_field = ""
    """The field of the answer that carries the partner's code ("" = the HTTP status)."""
    approved = "00"

    def __init__(self, http: httpx.AsyncClient, who: Credentials) -> None:
        self._http, self._who = http, who
        self._paid_at_of: dict[str, str] = {}
        """Each payment's time, by reference: a retry resends the very same payment."""

    @property
    def wire(self) -> str:
        """The protocol whose paths and field names it speaks: its channel's own."""
        return self.channel

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        return _hub_signed(self._who, raw)

    def _answer(self, response: httpx.Response) -> Answer:
        if not self.code_field:
            return Answer(str(response.status_code), response.status_code in (200, 202))
        code = _code(response, self.code_field)
        return Answer(code, code == self.approved)

    def _paid_at(self) -> str:
        return _wib_now()

    def _programmes(self) -> Any:
        return PROGRAMMES

    def _reversal(self, ref: str, payment_ref: str, amount: int) -> dict[str, Any]:
        return {"reference": ref, "payment_reference": payment_ref}

    def _outlet(self, inquiry: bool = False) -> dict[str, Any]:
        field, value, on_inquiries = _OUTLET.get(self.wire, ("", "", False))
        return {field: value} if field and (on_inquiries or not inquiry) else {}

    async def _post(self, operation: int, body: dict[str, Any]) -> Answer:
        prefix = _PREFIXES.get(self.wire, f"/{self.wire}/v1/")
        path = prefix + _ROUTES[self.wire][operation]
        raw = _json(body)
        headers = {"Content-Type": "application/json", **await self._headers(path, raw)}
        return self._answer(await self._http.post(path, content=raw, headers=headers))

    async def register(self, p: Particulars, ref: str) -> Answer:
        reference, income, programmes = _REGISTRATION[self.wire]
        listed = self._programmes()
        body = {reference: ref, **in_terms_of(self.wire, p), income: INCOME, programmes: listed}
        return await self._post(_REGISTER, {**body, **self._outlet()})

    async def inquiry(self, p: Particulars, months: int) -> Answer:
        _, payer, in_months, _, _ = _PAYMENT[self.wire]
        asked = {payer: p.nik, in_months: months}
        return await self._post(_INQUIRE, {**asked, **self._outlet(inquiry=True)})

    async def pay(self, p: Particulars, ref: str, months: int, amount: int) -> Answer:
        names = _PAYMENT[self.wire]
        values = (ref, p.nik, months, amount, self._paid_at_of.setdefault(ref, self._paid_at()))
        return await self._post(_PAY, {**dict(zip(names, values, strict=True)), **self._outlet()})

    async def reverse(self, ref: str, payment_ref: str, amount: int) -> Answer:
        return await self._post(_REVERSE, self._reversal(ref, payment_ref, amount))


class HubApiPartner(JsonPartner):
    """The hub's own JSON API (X-Partner-Id, X-Timestamp, HMAC-SHA256 X-Signature)."""

    def _paid_at(self) -> str:
        return _now().isoformat()


class PerisaiAgent(HubApiPartner):
    """An Agen Perisai agent's phone app (docs/channels/perisai.md): the hub's own API,
    signed with version 2 under the agent's id and key (``hub agents add`` prints them)."""

    channel = "perisai"

    @property
    def wire(self) -> str:
        return "hub-api"

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        return signed_headers_v2(self._who.secret, "POST", path, self._who.partner_id, raw)


class PosPartner(JsonPartner):
    """Kantor Pos counters: Indonesian field names, X-Pos-* signature, ``kodeRespon``."""

    channel, code_field = "pos", "kodeRespon"

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        stamp = _wib_now()
        # docs/channels/pos.md: hex HMAC-SHA256 of METHOD:path:agent:timestamp:sha256(body).
        agent = self._who.partner_id
        text = f"POST:{path}:{agent}:{stamp}:{hashlib.sha256(raw).hexdigest()}"
        signature = hmac.new(self._who.secret.encode(), text.encode(), hashlib.sha256)
        return {
            "X-Pos-Agent-Id": agent,
            "X-Pos-Timestamp": stamp,
            "X-Pos-Signature": signature.hexdigest(),
        }

    def _reversal(self, ref: str, payment_ref: str, amount: int) -> dict[str, Any]:
        return {"noReferensi": ref, "noReferensiBayar": payment_ref, "alasan": "salah input"}


class BrilinkPartner(JsonPartner):
    """BRI host-to-host: BRI-* headers, base64 HMAC-SHA256 over path, verb, client, time, body."""

    channel, code_field = "brilink", "responseCode"

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        at = _now()
        ts = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        client = self._who.partner_id
        payload = f"path={path}&verb=POST&clientId={client}&timestamp={ts}&body=".encode() + raw
        signature = base64.b64encode(
            hmac.new(self._who.secret.encode(), payload, hashlib.sha256).digest()
        ).decode()
        return {"BRI-Client-Id": client, "BRI-Timestamp": ts, "BRI-Signature": signature}

    def _reversal(self, ref: str, payment_ref: str, amount: int) -> dict[str, Any]:
        return {"journalSeq": ref, "origJournalSeq": payment_ref, "remark": "agent timeout"}


class IndomaretPartner(JsonPartner):
    """Indomaret's host: capitalised Indonesian fields, X-Indomaret-* HMAC-SHA256, ``RC``."""

    channel, code_field = "indomaret", "RC"

    def _paid_at(self) -> str:
        return _now().astimezone(WIB).strftime("%Y%m%d%H%M%S")

    def _programmes(self) -> Any:
        return ",".join(PROGRAMMES)

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        ts = self._paid_at()  # the same WIB clock, to the second
        signature = hmac.new(self._who.secret.encode(), raw + ts.encode(), hashlib.sha256)
        return {
            "X-Indomaret-Client-Id": self._who.partner_id,
            "X-Indomaret-Timestamp": ts,
            "X-Indomaret-Signature": signature.hexdigest(),
        }

    def _reversal(self, ref: str, payment_ref: str, amount: int) -> dict[str, Any]:
        # Indomaret reverses by the payment's own NoTransaksi.
        reversal = {"NoTransaksi": payment_ref, "Nominal": amount, "Alasan": "timeout di kasir"}
        return {**reversal, **self._outlet()}


class AlfamartPartner(JsonPartner):
    """Alfamart's host: snake_case fields, ``Authorization: ALFA id:HMAC-SHA512``, 4-digit codes."""

    channel, code_field, approved = "alfamart", "response_code", "0000"

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        ts = _wib_now()
        text = f"POST\n{path}\n{ts}\n{hashlib.sha256(raw).hexdigest()}"
        signature = base64.b64encode(
            hmac.new(self._who.secret.encode(), text.encode(), hashlib.sha512).digest()
        ).decode()
        return {"Authorization": f"ALFA {self._who.partner_id}:{signature}", "X-Alfa-Timestamp": ts}

    def _reversal(self, ref: str, payment_ref: str, amount: int) -> dict[str, Any]:
        reversal = {"trx_id": ref, "original_trx_id": payment_ref, "amount": amount}
        return {**reversal, **self._outlet(), "reason": "store timeout"}


class BankPartner(JsonPartner):
    """A bank over SNAP BI: RSA-signed B2B token, HMAC-SHA512 transactions, 7-character codes.

    SNAP's virtual-account services have no reversal: ``reverse`` is not offered.
    """

    channel, code_field = "bank", "responseCode"
    PREFIX = "    8866"

    def __init__(self, http: httpx.AsyncClient, who: Credentials, key: rsa.RSAPrivateKey) -> None:
        super().__init__(http, who)
        self._key = key
        self._token: str | None = None
        self._lock = asyncio.Lock()

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is None:
                ts = _wib_now()
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

    async def _headers(self, path: str, raw: bytes) -> dict[str, str]:
        token = await self._access_token()
        ts = _wib_now()
        digest = hashlib.sha256(raw).hexdigest()
        message = f"POST:{path}:{token}:{digest}:{ts}".encode()
        signature = base64.b64encode(
            hmac.new(self._who.secret.encode(), message, hashlib.sha512).digest()
        ).decode()
        return {
            "Authorization": f"Bearer {token}",
            "X-TIMESTAMP": ts,
            "X-SIGNATURE": signature,
            "X-PARTNER-ID": self._who.partner_id,
            "X-EXTERNAL-ID": f"{random.getrandbits(60):020d}",
            "CHANNEL-ID": "95221",
        }

    def _answer(self, response: httpx.Response) -> Answer:
        code = _code(response, self.code_field)
        return Answer(code, code.startswith("200"))

    def _account(self, p: Particulars) -> dict[str, Any]:
        """The member's virtual account: the bank's service id, then the NIK."""
        return {
            "partnerServiceId": self.PREFIX,
            "customerNo": p.nik,
            "virtualAccountNo": self.PREFIX + p.nik,
        }

    async def register(self, p: Particulars, ref: str) -> Answer:
        income = {"value": f"{INCOME}.00", "currency": "IDR"}
        body = {"partnerReferenceNo": ref, **in_terms_of("bank", p), "declaredIncome": income}
        return await self._post(_REGISTER, {**body, "programmes": PROGRAMMES})

    async def inquiry(self, p: Particulars, months: int) -> Answer:
        inquiry_id = f"INQ-{random.getrandbits(40):x}"
        asked = {"inquiryRequestId": inquiry_id, "trxDateInit": _wib_now(), "channelCode": 6011}
        return await self._post(_INQUIRE, {**self._account(p), **asked})

    async def pay(self, p: Particulars, ref: str, months: int, amount: int) -> Answer:
        paid = {"value": f"{amount}.00", "currency": "IDR"}
        body = {"paymentRequestId": ref, "channelCode": 6011, "paidAmount": paid}
        return await self._post(
            _PAY, {**self._account(p), **body, "trxDateTime": _wib_now(), "flagAdvise": "N"}
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


class Bni46Partner(JsonPartner):
    """BNI's switch: ISO 8583 over TCP (inquiry 0200/380000, payment 0200/180000, reversal 0400)
    and the agents' registrations as JSON signed as the hub's own API is."""

    channel, code_field = "bni46", "response_code"

    def __init__(self, http: httpx.AsyncClient, who: Credentials, iso_port: int | None) -> None:
        super().__init__(http, who)
        self._port = iso_port
        self._acquirer = who.options.get("acquirer_id", "009")
        self._stan = random.randrange(1, 900_000)  # noqa: S311
        self._sent: dict[str, dict[str, str]] = {}

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

    async def inquiry(self, p: Particulars, months: int) -> Answer:
        rrn = f"{random.getrandbits(36) % 10**12:012d}"
        return await self._exchange(
            "0200", self._fields("380000", 0, rrn, f"{p.nik:<20}{months:02d}")
        )

    async def pay(self, p: Particulars, ref: str, months: int, amount: int) -> Answer:
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
