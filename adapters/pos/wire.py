"""The post office's wire: paths, JSON bodies, ``kodeRespon`` codes and field names.

Pure translation between the post office's words and intake's typed requests; the
partner-facing description is docs/channels/pos.md.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from hub import errors
from hub.channels.codes import CodeTable, Envelope
from hub.channels.fields import KTP_SEX, PartnerTerms
from hub.errors import FieldProblem, HubError, InvalidRequest
from hub.intake.model import RequestView
from hub.intake.parsing import build
from hub.intake.requests import RegistrationRequest

REGISTRATION_PATH = "/pos/v1/pendaftaran"
REGISTRATION_STATUS_PATH = "/pos/v1/pendaftaran/status"
UPLOAD_PATH = "/pos/v1/pendaftaran/unggah"
INQUIRY_PATH = "/pos/v1/inquiry"
PAYMENT_PATH = "/pos/v1/pembayaran"
PAYMENT_STATUS_PATH = "/pos/v1/pembayaran/status"
REVERSAL_PATH = "/pos/v1/reversal"

REFERENCE_ECHO = 64
"""An agent id or a rejected row's reference is echoed at most this long (it may be garbage)."""

RESPONSE_CODES: dict[str, str] = {
    "00": "Sukses",
    "12": "Transaksi tidak dapat dibatalkan",
    "13": "Jumlah bayar tidak sesuai tagihan",
    "14": "Peserta tidak ditemukan",
    "25": "Transaksi tidak ditemukan",
    "30": "Isian tidak valid",
    "63": "Tidak berwenang",
    "88": "Iuran sudah dibayar",
    "91": "Layanan sementara tidak tersedia, ulangi dengan noReferensi yang sama",
    "94": "Nomor referensi sudah dipakai untuk transaksi lain",
    "96": "Kesalahan sistem",
}
"""Every ``kodeRespon`` the post office's protocol uses, with its fixed ``pesan``."""

STATUS = {"accepted": "DITERIMA", "recorded": "TERCATAT", "rejected": "DITOLAK"}
MEMBER_STATUS = {"active": "AKTIF", "inactive": "NONAKTIF", "pending": "MENUNGGU"}

POS_FIELD = {
    "reference": "noReferensi",
    "full_name": "namaLengkap",
    "birth_date": "tanggalLahir",
    "sex": "jenisKelamin",
    "phone": "noHp",
    "address": "alamat",
    "occupation": "pekerjaan",
    "declared_income": "penghasilan",
    "programmes": "program",
    "outlet_id": "kodeLoket",
    "payment_code": "kodeBayar",
    "months": "jumlahBulan",
    "amount": "jumlahBayar",
    "paid_at": "waktuBayar",
    "payment_reference": "noReferensiBayar",
    "reason": "alasan",
    "body": "formulir",
}
"""Hub field names -> the post office's, so a refusal names the field the clerk typed."""


class _Wire(BaseModel):
    # Strict: the JSON types are part of the protocol ("penghasilan": "1000000" is refused).
    # The post office writes every field in camelCase: noReferensi, jumlahBulan...
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel)


class RegistrationWire(_Wire):
    """``POST /pos/v1/pendaftaran``, and one row of an uploaded file."""

    no_referensi: str
    nik: str
    nama_lengkap: str
    tanggal_lahir: str
    jenis_kelamin: Literal["L", "P"]
    no_hp: str
    alamat: str
    pekerjaan: str
    penghasilan: int
    program: list[str]
    kode_loket: str | None = None


class ByMemberWire(_Wire):
    nik: str | None = None
    kode_bayar: str | None = None


class InquiryWire(ByMemberWire):
    jumlah_bulan: int = 1


class PaymentWire(ByMemberWire):
    no_referensi: str
    jumlah_bulan: int
    jumlah_bayar: int
    waktu_bayar: str
    kode_loket: str | None = None


class ReversalWire(_Wire):
    no_referensi: str
    no_referensi_bayar: str
    alasan: str | None = None


class StatusWire(_Wire):
    no_referensi: str


def registration_request(wire: RegistrationWire) -> RegistrationRequest:
    return build(
        RegistrationRequest,
        {
            "reference": wire.no_referensi,
            "nik": wire.nik,
            "full_name": wire.nama_lengkap,
            "birth_date": wire.tanggal_lahir,
            "sex": KTP_SEX[wire.jenis_kelamin],
            "phone": wire.no_hp,
            "address": wire.alamat,
            "occupation": wire.pekerjaan,
            "declared_income": wire.penghasilan,
            "programmes": wire.program,
            "outlet_id": wire.kode_loket,
        },
    )


def member_of(wire: ByMemberWire) -> dict[str, object]:
    if (wire.nik is None) == (wire.kode_bayar is None):
        raise InvalidRequest(
            "give either nik or kodeBayar",
            [FieldProblem("nik", "give either nik or kodeBayar, not both", "missing")],
        )
    return {"nik": wire.nik, "payment_code": wire.kode_bayar}


class FileTooLarge(InvalidRequest):
    """The upload is bigger than ``upload_max_bytes``; split it into several files."""


CODES = CodeTable(
    {
        errors.AmountMismatch: "13",
        errors.AlreadyPaid: "88",
        errors.NotReversible: "12",
        errors.InvalidRequest: "30",
        errors.Unauthenticated: "63",
        errors.Forbidden: "63",
        errors.NotFound: "25",
        errors.ReferenceConflict: "94",
        errors.TemporarilyUnavailable: "91",
    },
    otherwise="96",
    envelope=Envelope("kodeRespon", "pesan", RESPONSE_CODES, "00"),
    status_by_error={
        errors.InvalidRequest: 400,
        errors.AmountMismatch: 422,
        errors.AlreadyPaid: 422,
        errors.NotReversible: 422,
        FileTooLarge: 413,
        errors.Unauthenticated: 401,
        errors.Forbidden: 403,
        errors.NotFound: 404,
        errors.ReferenceConflict: 409,
        errors.TemporarilyUnavailable: 503,
    },
    default_status=500,
)
"""Each refusal's ``kodeRespon`` and HTTP status, along the error's class hierarchy."""

TERMS = PartnerTerms(POS_FIELD)


def code_of(error: Exception, member_lookup: bool = False) -> tuple[str, int]:
    """The post office's code for an error, and the HTTP status it travels with."""
    code, status = CODES(error)
    # An unknown member at inquiry or payment; otherwise an unknown transaction.
    return ("14" if member_lookup and code == "25" else code), status


def reason(error: HubError) -> str:
    problems = error.problems if isinstance(error, InvalidRequest) else []
    return TERMS.describe(problems) if problems else error.message


def answer(code: str = "00", /, **fields: object) -> dict[str, object]:
    return CODES.answer(code, **fields)


def month(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y-%m}"


KIND = {"missing": "WAJIB_DIISI", "invalid": "TIDAK_VALID"}
"""A field problem's kind, as ``jenis`` in ``kesalahan``."""


def status_fields(claimed: RequestView) -> dict[str, object]:
    return {
        "noReferensi": claimed.reference,
        "noReferensiHub": claimed.hub_reference,
        "status": STATUS[claimed.status],
        "alasan": claimed.reason,
    }
