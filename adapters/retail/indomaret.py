"""Indomaret: the store host's JSON calls, signed with HMAC-SHA256, answered with an ``RC``.

Every answer to a message is HTTP 200 and the two-digit ``RC`` decides, as Indomaret's
host expects of its billers; ``Keterangan`` says it in words. A request refused at the
door, before its message is read (401 bad credentials, 413, 429, 408), also carries
that HTTP status, with the RC in the same body. Field names, codes and
the signature are documented for the partner in docs/channels/indomaret.md. The
operations themselves are the retail counter's (``adapters.retail.adapter``).
"""

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field

from adapters.retail.adapter import (
    RetailAdapter,
    RetailMessages,
    RetailTerms,
    StoreMessage,
)
from adapters.retail.counter import ReversalMismatch, TransactionNotFound
from adapters.retail.indomaret_settlement import IndomaretDailyFile
from hub import errors
from hub.channels.base import SignedOptions
from hub.channels.codes import CodeTable, Envelope, Refusals, answering
from hub.channels.fields import KTP_SEX
from hub.channels.signatures import (
    HEX_SHA256,
    in_headers,
)
from hub.intake.model import Partner
from hub.intake.requests import check_year

CLIENT_HEADER = "X-Indomaret-Client-Id"
TIMESTAMP_HEADER = "X-Indomaret-Timestamp"
SIGNATURE_HEADER = "X-Indomaret-Signature"
TIME_FORMAT = "%Y%m%d%H%M%S"
"""Indomaret's times: ``yyyyMMddHHmmss`` on the host's wall clock (the partner's zone, WIB)."""

ANSWERS: dict[str, tuple[str, Refusals]] = {
    "00": ("Sukses", ()),
    "05": ("Transaksi ditolak", (errors.Forbidden,)),
    "12": ("Transaksi tidak dapat dibatalkan", (errors.NotReversible,)),
    "13": ("Nominal tidak sesuai", (errors.AmountMismatch, ReversalMismatch)),
    "14": ("Kode bayar / NIK tidak terdaftar", (errors.NotFound,)),
    "25": ("Transaksi asal tidak ditemukan", (TransactionNotFound,)),
    "30": ("Format pesan salah", (errors.InvalidRequest,)),
    "63": ("Signature tidak valid", (errors.Unauthenticated,)),
    "88": ("Tagihan sudah terbayar", (errors.AlreadyPaid,)),
    "91": ("Sistem sedang sibuk, silakan ulangi", (errors.TemporarilyUnavailable,)),
    "94": ("NoTransaksi sudah dipakai untuk transaksi lain", (errors.ReferenceConflict,)),
    # Not "94", which tells the host to retry under a new NoTransaksi: for a reversed
    # payment that would collect the cash again.
    "95": ("Transaksi sudah dibatalkan, jangan terima uang", (errors.AlreadyReversed,)),
    "96": ("Sistem error", ()),
}
"""Each RC: its Keterangan, and the refusals it answers (the most specific class wins)."""
KETERANGAN = {code: text for code, (text, _) in ANSWERS.items()}

RC = CodeTable(
    answering({code: refusals for code, (_, refusals) in ANSWERS.items()}),
    otherwise="96",
    envelope=Envelope("RC", "Keterangan", KETERANGAN, success="00"),
    status_by_code={"63": 401},
)
"""Each refusal's RC, found along the error's class hierarchy; HTTP 200 but for bad credentials."""

REGISTRATION_NAMES = {
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
PAYMENT_NAMES = {
    "reference": "NoTransaksi",
    "nik": "KodeBayar",
    "payment_code": "KodeBayar",
    "months": "JumlahBulan",
    "amount": "Nominal",
    "paid_at": "TglTransaksi",
    "outlet_id": "KodeToko",
    "kind": "JenisTransaksi",
}
REVERSAL_NAMES = {
    # Indomaret names a reversal by the payment it takes back, so every repeat of
    # it is the same reversal and gets the same answer.
    "reference": "NoTransaksi",
    "payment_reference": "NoTransaksi",
    "reason": "Alasan",
    "amount": "Nominal",
}
ANSWER_NAMES = {
    "reference": "NoTransaksi",
    "payment_reference": "NoTransaksi",
    "hub_reference": "NoReferensi",
    "kpj": "NoKPJ",
    "member_payment_code": "KodeBayarPeserta",
    "payment_code": "KodeBayar",
    "masked_name": "NamaPeserta",
    "programmes": "Program",
    "member_status": "StatusPeserta",
    "paid_through": "LunasSampai",
    "months": "JumlahBulan",
    "covers_from": "PeriodeAwal",
    "covers_through": "PeriodeAkhir",
    "arrears_months": "JumlahBulanTunggakan",
    "arrears_from": "TunggakanAwal",
    "arrears_through": "TunggakanAkhir",
    "arrears_amount": "NominalTunggakan",
    "monthly_amount": "IuranPerBulan",
    "amount_due": "Nominal",
    "amount": "Nominal",
    "kind": "JenisTransaksi",
    "status": "Status",
    "reason": "Alasan",
    "reversal": "Pembatalan",
    "detail": "Detail",
    "bill_amount": "NominalTagihan",
    "original_amount": "NominalTransaksiAsal",
}

WORDS = {
    "accepted": "DITERIMA",
    "recorded": "TERCATAT",
    "rejected": "DITOLAK",
    "active": "AKTIF",
    "inactive": "TIDAK AKTIF",
    "pending": "MENUNGGU",
    "registration": "REGISTRASI",
    "payment": "PEMBAYARAN",
}
"""Statuses and transaction kinds in Indomaret's words (Alfamart's are the hub's, in capitals)."""


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """``X-Indomaret-Signature``: lowercase hex HMAC-SHA256(secret, raw body + timestamp)."""
    return SCHEME.mac(secret, body + timestamp.encode())


def _signed_at(timestamp: str, partner: Partner) -> datetime:
    try:
        signed_at = check_year(datetime.strptime(timestamp, TIME_FORMAT))
    except ValueError:
        raise ValueError(f"{TIMESTAMP_HEADER} must be yyyyMMddHHmmss") from None
    return signed_at.replace(tzinfo=ZoneInfo(partner.timezone))


SCHEME = in_headers(
    (CLIENT_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER),
    HEX_SHA256,
    _signed_at,
    lambda message: message.body.bytes + message.claim.timestamp.encode(),
    unknown_partner=lambda client: f"unknown {CLIENT_HEADER}",
)


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


class Registrasi(StoreMessage):
    """Daftar BPU: register a member at the counter"""

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


class Inquiry(StoreMessage):
    """Cek tagihan: what a member owes"""

    no_transaksi: str | None = Field(None, alias="NoTransaksi")
    kode_bayar: str = Field(alias="KodeBayar", description="Payment code or NIK, as typed")
    kode_toko: str | None = Field(None, alias="KodeToko")
    jumlah_bulan: int = Field(1, alias="JumlahBulan")


class Pembayaran(StoreMessage):
    """Pembayaran: pay a member's contribution"""

    no_transaksi: str = Field(alias="NoTransaksi")
    kode_bayar: str = Field(alias="KodeBayar")
    kode_toko: str = Field(alias="KodeToko")
    jumlah_bulan: int = Field(alias="JumlahBulan")
    nominal: int = Field(alias="Nominal")
    tgl_transaksi: HostTime = Field(alias="TglTransaksi")


class Reversal(StoreMessage):
    """Reversal: take back a payment (same business day)"""

    no_transaksi: str = Field(alias="NoTransaksi", description="NoTransaksi of the payment")
    kode_toko: str | None = Field(None, alias="KodeToko")
    nominal: int = Field(alias="Nominal")
    alasan: str | None = Field(None, alias="Alasan")


class CekStatus(StoreMessage):
    """Cek status: a registration or payment you sent, and its reversal"""

    no_transaksi: str = Field(alias="NoTransaksi")
    jenis_transaksi: Literal["REGISTRASI", "PEMBAYARAN"] = Field(alias="JenisTransaksi")


class IndomaretAdapter(RetailAdapter[SignedOptions], slug="indomaret", title="Indomaret"):
    """Indomaret's host: registration, inquiry, payment, advice, reversal and status.

    Every answer to a message travels with HTTP 200 and its RC decides (bad credentials
    are a 401, with RC 63); sex is L or P and the
    programmes one comma-separated string, as Indomaret's forms write them.
    """

    settlement_reader = IndomaretDailyFile()
    signature_scheme = SCHEME
    messages = RetailMessages(Registrasi, Inquiry, Pembayaran, Reversal, CekStatus)
    terms = RetailTerms.of(
        REGISTRATION_NAMES, PAYMENT_NAMES, REVERSAL_NAMES, ANSWER_NAMES, words=WORDS
    )
    codes = RC

    def registration_fields(self, fields: dict[str, object]) -> dict[str, object]:
        programmes = str(fields["programmes"]).split(",")
        return {
            **fields,
            "sex": KTP_SEX[str(fields["sex"])],
            "programmes": [p.strip().upper() for p in programmes],
        }

    def programmes(self, programmes: tuple[str, ...]) -> object:
        return ",".join(programmes)


ADAPTER = IndomaretAdapter
