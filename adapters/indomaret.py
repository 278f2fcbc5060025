"""Indomaret: the store host's JSON calls, signed with HMAC-SHA256, answered with an ``RC``.

Every answer is HTTP 200 and the two-digit ``RC`` decides, as Indomaret's host
expects of its billers; ``Keterangan`` says it in words. Field names, codes and
the signature are documented for the partner in docs/channels/indomaret.md.
"""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from adapters.indomaret_settlement import IndomaretDailyFile
from adapters.retail import (
    RetailCounter,
    ReversalMismatch,
    TransactionNotFound,
    TransactionStatus,
    body_doc,
    check_signed_at,
    check_year,
)
from hub.channels.base import ChannelContext, ChannelOptions, HttpChannelAdapter
from hub.channels.signatures import HEX_SHA256, well_formed
from hub.errors import (
    AlreadyPaid,
    AlreadyReversed,
    AmountMismatch,
    Forbidden,
    HubError,
    InvalidRequest,
    NotFound,
    NotReversible,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import InquiryAnswer, Partner, RequestView
from hub.intake.parsing import parse_json
from hub.intake.ports import RequestKind

CLIENT_HEADER = "X-Indomaret-Client-Id"
TIMESTAMP_HEADER = "X-Indomaret-Timestamp"
SIGNATURE_HEADER = "X-Indomaret-Signature"
TIME_FORMAT = "%Y%m%d%H%M%S"
"""Indomaret's times: ``yyyyMMddHHmmss`` on the host's wall clock (the partner's zone, WIB)."""

KETERANGAN: dict[str, str] = {
    "00": "Sukses",
    "05": "Transaksi ditolak",
    "12": "Transaksi tidak dapat dibatalkan",
    "13": "Nominal tidak sesuai",
    "14": "Kode bayar / NIK tidak terdaftar",
    "25": "Transaksi asal tidak ditemukan",
    "30": "Format pesan salah",
    "63": "Signature tidak valid",
    "88": "Tagihan sudah terbayar",
    "91": "Sistem sedang sibuk, silakan ulangi",
    "94": "NoTransaksi sudah dipakai untuk transaksi lain",
    "95": "Transaksi sudah dibatalkan, jangan terima uang",
    "96": "Sistem error",
}
SUCCESS = "00"
SYSTEM_ERROR = "96"

_RC: dict[type[HubError], str] = {
    TransactionNotFound: "25",
    NotFound: "14",
    AmountMismatch: "13",
    ReversalMismatch: "13",
    AlreadyPaid: "88",
    NotReversible: "12",
    InvalidRequest: "30",
    Unauthenticated: "63",
    Forbidden: "05",
    # Before ReferenceConflict: "94" tells the host to retry under a new NoTransaksi, which
    # for a reversed payment would collect the cash again.
    AlreadyReversed: "95",
    ReferenceConflict: "94",
    TemporarilyUnavailable: "91",
}
"""Each refusal's RC, found along the error's class hierarchy (most specific first)."""

_STATUS = {"accepted": "DITERIMA", "recorded": "TERCATAT", "rejected": "DITOLAK"}
_MEMBER_STATUS = {"active": "AKTIF", "inactive": "TIDAK AKTIF", "pending": "MENUNGGU"}

_REGISTRATION_NAMES = {
    "reference": "NoTransaksi",
    "outlet_id": "KodeToko",
    "nik": "NIK",
    "full_name": "NamaLengkap",
    "birth_date": "TglLahir",
    "sex": "JenisKelamin",
    "phone": "NoHP",
    "address": "Alamat",
    "occupation": "Pekerjaan",
    "declared_income": "Penghasilan",
    "programmes": "Program",
}
_PAYMENT_NAMES = {
    "reference": "NoTransaksi",
    "nik": "KodeBayar",
    "payment_code": "KodeBayar",
    "months": "JumlahBulan",
    "amount": "Nominal",
    "paid_at": "TglTransaksi",
    "outlet_id": "KodeToko",
}
_REVERSAL_NAMES = {
    "reference": "NoTransaksi",
    "payment_reference": "NoTransaksi",
    "reason": "Alasan",
    "amount": "Nominal",
}


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """``X-Indomaret-Signature``: lowercase hex HMAC-SHA256(secret, raw body + timestamp)."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _ddmmyyyy(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        if len(value) != len("05-08-1990"):
            raise ValueError
        return datetime.strptime(value, "%d-%m-%Y").date()
    except ValueError:
        raise ValueError("a date is DD-MM-YYYY, e.g. 05-08-1990") from None


def _host_time(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        if len(value) != len("20260310090000") or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, TIME_FORMAT)
    except ValueError:
        raise ValueError("a time is yyyyMMddHHmmss, e.g. 20260310090000") from None


BirthDate = Annotated[date, BeforeValidator(_ddmmyyyy)]
HostTime = Annotated[datetime, BeforeValidator(_host_time), AfterValidator(check_year)]


class _Message(BaseModel):
    """An Indomaret message: its own field names, nothing else, JSON types as they are."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Registrasi(_Message):
    no_transaksi: str = Field(alias="NoTransaksi")
    kode_toko: str = Field(alias="KodeToko")
    nik: str = Field(alias="NIK")
    nama_lengkap: str = Field(alias="NamaLengkap")
    tgl_lahir: BirthDate = Field(alias="TglLahir")
    jenis_kelamin: Literal["L", "P"] = Field(alias="JenisKelamin")
    no_hp: str = Field(alias="NoHP")
    alamat: str = Field(alias="Alamat")
    pekerjaan: str = Field(alias="Pekerjaan")
    penghasilan: int = Field(alias="Penghasilan")
    program: str = Field(alias="Program", description='Comma-separated, e.g. "JKK,JKM,JHT"')


class Inquiry(_Message):
    no_transaksi: str | None = Field(None, alias="NoTransaksi")
    kode_bayar: str = Field(alias="KodeBayar", description="Payment code or NIK, as typed")
    kode_toko: str | None = Field(None, alias="KodeToko")
    jumlah_bulan: int = Field(1, alias="JumlahBulan")


class Pembayaran(_Message):
    no_transaksi: str = Field(alias="NoTransaksi")
    kode_bayar: str = Field(alias="KodeBayar")
    kode_toko: str = Field(alias="KodeToko")
    jumlah_bulan: int = Field(alias="JumlahBulan")
    nominal: int = Field(alias="Nominal")
    tgl_transaksi: HostTime = Field(alias="TglTransaksi")


class Reversal(_Message):
    no_transaksi: str = Field(alias="NoTransaksi", description="NoTransaksi of the payment")
    kode_toko: str | None = Field(None, alias="KodeToko")
    nominal: int = Field(alias="Nominal")
    alasan: str | None = Field(None, alias="Alasan")


class CekStatus(_Message):
    no_transaksi: str = Field(alias="NoTransaksi")
    jenis_transaksi: Literal["REGISTRASI", "PEMBAYARAN"] = Field(alias="JenisTransaksi")


class IndomaretOptions(ChannelOptions):
    signature_window_s: int = Field(300, gt=0)
    """How far ``X-Indomaret-Timestamp`` may be from the hub's clock."""


class IndomaretAdapter(HttpChannelAdapter[IndomaretOptions]):
    """Indomaret's host: registration, inquiry, payment, advice, reversal and status."""

    settlement_reader = IndomaretDailyFile()

    slug = "indomaret"
    title = "Indomaret"
    options_model = IndomaretOptions
    answer_code_field = "RC"
    answer_statuses: ClassVar[Mapping[int, str]] = {}

    def __init__(self, context: ChannelContext, options: IndomaretOptions) -> None:
        super().__init__(context, options)
        self.counter = RetailCounter(context.intake, self.slug)

    def router(self) -> APIRouter:
        router = self.http_router()
        prefix = "/indomaret/v1"

        @router.post(
            f"{prefix}/registration",
            summary="Daftar BPU: register a member at the counter",
            openapi_extra=body_doc(Registrasi),
        )
        async def registration(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Registrasi, body)
            accepted = await self.counter.register(
                partner, _registration_fields(message), _REGISTRATION_NAMES
            )
            return _answer(
                SUCCESS,
                NoTransaksi=accepted.reference,
                NoReferensi=accepted.hub_reference,
                NoKPJ=accepted.kpj,
                KodeBayarPeserta=self._payment_code(accepted.kpj),
            )

        @router.post(
            f"{prefix}/inquiry",
            summary="Cek tagihan: what a member owes",
            openapi_extra=body_doc(Inquiry),
        )
        async def inquiry(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Inquiry, body)
            bill = await self.counter.inquiry(
                partner, message.kode_bayar, message.jumlah_bulan, _PAYMENT_NAMES
            )
            echo = {} if message.no_transaksi is None else {"NoTransaksi": message.no_transaksi}
            return _answer(SUCCESS, **echo, KodeBayar=message.kode_bayar, **_bill(bill))

        async def pay(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Pembayaran, body)
            zone = ZoneInfo(partner.timezone)
            accepted = await self.counter.pay(
                partner,
                message.kode_bayar,
                {
                    "reference": message.no_transaksi,
                    "months": message.jumlah_bulan,
                    "amount": message.nominal,
                    "paid_at": message.tgl_transaksi.replace(tzinfo=zone),
                    "outlet_id": message.kode_toko,
                },
                _PAYMENT_NAMES,
            )
            return _answer(
                SUCCESS,
                NoTransaksi=accepted.reference,
                NoReferensi=accepted.hub_reference,
                KodeBayar=message.kode_bayar,
                JumlahBulan=message.jumlah_bulan,
                Nominal=message.nominal,
            )

        router.add_api_route(
            f"{prefix}/payment",
            pay,
            methods=["POST"],
            summary="Pembayaran: pay a member's contribution",
            openapi_extra=body_doc(Pembayaran),
        )
        router.add_api_route(
            f"{prefix}/advice",
            pay,
            methods=["POST"],
            summary="Advice: repeat a payment whose answer timed out (applied at most once)",
            openapi_extra=body_doc(Pembayaran),
        )

        @router.post(
            f"{prefix}/reversal",
            summary="Reversal: take back a payment (same business day)",
            openapi_extra=body_doc(Reversal),
        )
        async def reversal(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(Reversal, body)
            # Indomaret names a reversal by the payment it takes back, so every repeat of
            # it is the same reversal and gets the same answer.
            fields: dict[str, object] = {
                "reference": message.no_transaksi,
                "payment_reference": message.no_transaksi,
            }
            if message.alasan is not None:
                fields["reason"] = message.alasan
            accepted = await self.counter.reverse(partner, fields, message.nominal, _REVERSAL_NAMES)
            return _answer(
                SUCCESS, NoTransaksi=message.no_transaksi, NoReferensi=accepted.hub_reference
            )

        @router.post(
            f"{prefix}/status",
            summary="Cek status: a registration or payment you sent, and its reversal",
            openapi_extra=body_doc(CekStatus),
        )
        async def status(request: Request) -> Response:
            partner, body = await self._signed(request)
            message = parse_json(CekStatus, body)
            kind: RequestKind = (
                "registration" if message.jenis_transaksi == "REGISTRASI" else "payment"
            )
            found = await self.counter.status(partner, kind, message.no_transaksi, _PAYMENT_NAMES)
            return _answer(SUCCESS, JenisTransaksi=message.jenis_transaksi, **self._status(found))

        return router

    def preflight(self, request: Request) -> Partner:
        headers = request.headers
        if not headers.get(CLIENT_HEADER) or not headers.get(TIMESTAMP_HEADER):
            raise Unauthenticated(
                f"{CLIENT_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
            )
        partner = self.known_partner(headers.get(CLIENT_HEADER), CLIENT_HEADER)
        well_formed(headers.get(SIGNATURE_HEADER), HEX_SHA256, SIGNATURE_HEADER)
        return partner

    def error_response(self, request: Request, error: Exception) -> Response:
        if not isinstance(error, HubError):
            return _answer(SYSTEM_ERROR, Detail="unexpected error; it was logged")
        rc = next((_RC[k] for k in type(error).__mro__ if k in _RC), SYSTEM_ERROR)
        extra: dict[str, Any] = {"Detail": error.message}
        if isinstance(error, AmountMismatch):
            extra["NominalTagihan"] = error.amount_due
        if isinstance(error, ReversalMismatch):
            extra["NominalTransaksiAsal"] = error.paid
        response = _answer(rc, **extra)
        if isinstance(error, TemporarilyUnavailable):
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response

    async def _signed(self, request: Request) -> tuple[Partner, bytes]:
        """The partner that signed this request, and its raw body."""
        body = await request.body()
        client = request.headers.get(CLIENT_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not client or not timestamp or not signature:
            raise Unauthenticated(
                f"{CLIENT_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
            )
        known = self.context.partner(client)
        if known is None:
            raise Unauthenticated(f"unknown {CLIENT_HEADER}")
        partner, settings = known
        try:
            signed_at = check_year(datetime.strptime(timestamp, TIME_FORMAT))
        except ValueError:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} must be yyyyMMddHHmmss") from None
        check_signed_at(
            signed_at.replace(tzinfo=ZoneInfo(partner.timezone)),
            self.context.clock(),
            self.options.signature_window_s,
            TIMESTAMP_HEADER,
        )
        expected = sign(settings.secret.get_secret_value(), body, timestamp).encode()
        # Bytes, not str: a header with non-ASCII characters is a bad signature, not a crash.
        given = signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise Unauthenticated("signature does not match")
        return partner, body

    def _payment_code(self, kpj: str | None) -> str | None:
        return None if kpj is None else self.intake.payment_codes.for_kpj(kpj)

    def _status(self, found: TransactionStatus) -> dict[str, Any]:
        claimed = found.request
        answer: dict[str, Any] = {**_transaction(claimed)}
        if claimed.kind == "registration":
            answer["NoKPJ"] = claimed.kpj
            answer["KodeBayarPeserta"] = self._payment_code(claimed.kpj)
        else:
            answer["Pembatalan"] = None if found.reversal is None else _transaction(found.reversal)
        return answer


def _transaction(claimed: RequestView) -> dict[str, Any]:
    return {
        "NoTransaksi": claimed.reference,
        "NoReferensi": claimed.hub_reference,
        "Status": _STATUS.get(claimed.status, claimed.status.upper()),
        "Alasan": claimed.reason,
    }


def _registration_fields(message: Registrasi) -> dict[str, object]:
    return {
        "reference": message.no_transaksi,
        "outlet_id": message.kode_toko,
        "nik": message.nik,
        "full_name": message.nama_lengkap,
        "birth_date": message.tgl_lahir,
        "sex": "M" if message.jenis_kelamin == "L" else "F",
        "phone": message.no_hp,
        "address": message.alamat,
        "occupation": message.pekerjaan,
        "declared_income": message.penghasilan,
        "programmes": [p.strip().upper() for p in message.program.split(",")],
    }


def _bill(bill: InquiryAnswer) -> dict[str, Any]:
    return {
        "NamaPeserta": bill.masked_name,
        "NoKPJ": bill.kpj,
        "KodeBayarPeserta": bill.payment_code,
        "Program": ",".join(bill.programmes),
        "StatusPeserta": _MEMBER_STATUS[bill.member_status],
        "LunasSampai": None if bill.paid_through is None else f"{bill.paid_through:%Y-%m}",
        "JumlahBulan": bill.months,
        "PeriodeAwal": f"{bill.covers_from:%Y-%m}",
        "PeriodeAkhir": f"{bill.covers_through:%Y-%m}",
        "JumlahBulanTunggakan": bill.arrears_months,
        "TunggakanAwal": _month(bill.arrears_from),
        "TunggakanAkhir": _month(bill.arrears_through),
        "NominalTunggakan": bill.arrears_amount,
        "IuranPerBulan": bill.monthly_amount,
        "Nominal": bill.amount_due,
    }


def _month(month: date | None) -> str | None:
    return None if month is None else f"{month:%Y-%m}"


def _answer(rc: str, **fields: Any) -> JSONResponse:
    return JSONResponse({"RC": rc, "Keterangan": KETERANGAN[rc], **fields})


ADAPTER = IndomaretAdapter
