"""Kantor Pos / Agen Pos: the post office's JSON counter API and its agents' CSV batch upload.

Counter clerks register members, ask what a member owes (inquiry), take payments
and reverse them; agents in villages collect registration forms offline and
upload them later as one CSV file. Every request is signed by the agent
(``X-Pos-Agent-Id``, ``X-Pos-Timestamp``, ``X-Pos-Signature``) and every answer
carries the post office's ``kodeRespon``. The partner-facing description, with
the codes and the CSV columns, is docs/channels/pos.md.
"""

import asyncio
import csv
import hashlib
import hmac
import io
import re
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

import httpx
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.background import BackgroundTask

from adapters.base import HEX_SHA256, ChannelOptions, HttpChannelAdapter, well_formed
from adapters.pos_settlement import PosDailyReport
from hub.api.edge import RouteTraits
from hub.errors import (
    AlreadyPaid,
    AmountMismatch,
    FieldProblem,
    Forbidden,
    HubError,
    InvalidRequest,
    NotFound,
    NotReversible,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import Acceptance, Partner
from hub.intake.parsing import build, parse_json, refusal
from hub.intake.ports import ClaimedRequest
from hub.intake.requests import (
    InquiryRequest,
    PaymentRequest,
    RegistrationRequest,
    ReversalRequest,
)
from hub.settings import PartnerSettings

REGISTRATION_PATH = "/pos/v1/pendaftaran"
REGISTRATION_STATUS_PATH = "/pos/v1/pendaftaran/status"
UPLOAD_PATH = "/pos/v1/pendaftaran/unggah"
INQUIRY_PATH = "/pos/v1/inquiry"
PAYMENT_PATH = "/pos/v1/pembayaran"
PAYMENT_STATUS_PATH = "/pos/v1/pembayaran/status"
REVERSAL_PATH = "/pos/v1/reversal"

AGENT_HEADER = "X-Pos-Agent-Id"
TIMESTAMP_HEADER = "X-Pos-Timestamp"
SIGNATURE_HEADER = "X-Pos-Signature"

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

CSV_COLUMNS = (
    "noReferensi",
    "nik",
    "namaLengkap",
    "tanggalLahir",
    "jenisKelamin",
    "noHp",
    "alamat",
    "pekerjaan",
    "penghasilan",
    "program",
    "kodeLoket",
)
"""The columns of an agent's registration file; ``kodeLoket`` may be left out."""
_OPTIONAL_COLUMNS = frozenset({"kodeLoket"})

_COUNTER_BODY_LIMIT = 64 * 1024
_SPOOL_IN_MEMORY = 1024 * 1024
"""Uploads and answers up to this size stay in memory; larger ones go to a temporary file."""
_REFERENCE_ECHO = 64
"""A rejected row's reference is echoed at most this long (it may be the garbage at fault)."""

_STATUS = {"accepted": "DITERIMA", "recorded": "TERCATAT", "rejected": "DITOLAK"}
_MEMBER_STATUS = {"active": "AKTIF", "inactive": "NONAKTIF", "pending": "MENUNGGU"}
_SEX = {"L": "M", "P": "F"}
"""KTP cards write sex as L (laki-laki) or P (perempuan); the hub says M or F."""

_POS_FIELD = {
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


class PosOptions(ChannelOptions):
    """``[channels.pos]``: replay window and how uploads are read and submitted."""

    signature_window_s: int = Field(300, gt=0)
    upload_concurrency: int = Field(1024, ge=1, le=8192)
    """Rows of one upload in intake at once: enough for the store and Kafka to batch."""
    upload_max_bytes: int = Field(64 * 1024 * 1024, gt=0)
    upload_max_row_chars: int = Field(4096, ge=256)


# --- signing (the hub checks it; `hub upload pos` and the tests sign with it) --------------


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(method: str, path: str, agent_id: str, timestamp: str, digest: str) -> str:
    """``METHOD:path:agent:timestamp:sha256-hex(body)``: what ``X-Pos-Signature`` covers."""
    return f"{method.upper()}:{path}:{agent_id}:{timestamp}:{digest}"


def sign(secret: str, method: str, path: str, agent_id: str, timestamp: str, digest: str) -> str:
    """Lowercase hex HMAC-SHA256 of the string to sign, keyed with the agent's secret."""
    message = string_to_sign(method, path, agent_id, timestamp, digest).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    agent_id: str, secret: str, method: str, path: str, body: bytes, timestamp: str
) -> dict[str, str]:
    """The three headers an agent sends with ``body``."""
    return {
        AGENT_HEADER: agent_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, method, path, agent_id, timestamp, body_digest(body)),
    }


# --- the post office's wire ---------------------------------------------------------------


class _Wire(BaseModel):
    # Strict: the JSON types are part of the protocol ("penghasilan": "1000000" is refused).
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class RegistrationWire(_Wire):
    """``POST /pos/v1/pendaftaran``, and one row of an uploaded file."""

    no_referensi: str = Field(alias="noReferensi")
    nik: str
    nama_lengkap: str = Field(alias="namaLengkap")
    tanggal_lahir: str = Field(alias="tanggalLahir")
    jenis_kelamin: Literal["L", "P"] = Field(alias="jenisKelamin")
    no_hp: str = Field(alias="noHp")
    alamat: str
    pekerjaan: str
    penghasilan: int
    program: list[str]
    kode_loket: str | None = Field(None, alias="kodeLoket")


class _ByMemberWire(_Wire):
    nik: str | None = None
    kode_bayar: str | None = Field(None, alias="kodeBayar")


class InquiryWire(_ByMemberWire):
    jumlah_bulan: int = Field(1, alias="jumlahBulan")


class PaymentWire(_ByMemberWire):
    no_referensi: str = Field(alias="noReferensi")
    jumlah_bulan: int = Field(alias="jumlahBulan")
    jumlah_bayar: int = Field(alias="jumlahBayar")
    waktu_bayar: str = Field(alias="waktuBayar")
    kode_loket: str | None = Field(None, alias="kodeLoket")


class ReversalWire(_Wire):
    no_referensi: str = Field(alias="noReferensi")
    no_referensi_bayar: str = Field(alias="noReferensiBayar")
    alasan: str | None = None


class StatusWire(_Wire):
    no_referensi: str = Field(alias="noReferensi")


def registration_request(wire: RegistrationWire) -> RegistrationRequest:
    return build(
        RegistrationRequest,
        {
            "reference": wire.no_referensi,
            "nik": wire.nik,
            "full_name": wire.nama_lengkap,
            "birth_date": wire.tanggal_lahir,
            "sex": _SEX[wire.jenis_kelamin],
            "phone": wire.no_hp,
            "address": wire.alamat,
            "occupation": wire.pekerjaan,
            "declared_income": wire.penghasilan,
            "programmes": wire.program,
            "outlet_id": wire.kode_loket,
        },
    )


def _member(wire: _ByMemberWire) -> dict[str, object]:
    if (wire.nik is None) == (wire.kode_bayar is None):
        raise InvalidRequest(
            "give either nik or kodeBayar",
            [FieldProblem("nik", "give either nik or kodeBayar, not both", "missing")],
        )
    return {"nik": wire.nik, "payment_code": wire.kode_bayar}


def _problems_text(problems: list[FieldProblem]) -> str:
    return "; ".join(f"{_pos_field(p.field)}: {p.reason}" for p in problems)


def _pos_field(name: str) -> str:
    head, dot, rest = name.partition(".")
    return _POS_FIELD.get(head, head) + dot + rest


def _code_of(error: Exception, member_lookup: bool = False) -> tuple[str, int]:
    """The post office's code for an error, and the HTTP status it travels with."""
    if isinstance(error, AmountMismatch):
        return "13", 422
    if isinstance(error, AlreadyPaid):
        return "88", 422
    if isinstance(error, NotReversible):
        return "12", 422
    if isinstance(error, InvalidRequest):
        return "30", 413 if isinstance(error, FileTooLarge) else 400
    if isinstance(error, Unauthenticated):
        return "63", 401
    if isinstance(error, Forbidden):
        return "63", 403
    if isinstance(error, NotFound):
        # An unknown member at inquiry or payment; otherwise an unknown transaction.
        return ("14" if member_lookup else "25"), 404
    if isinstance(error, ReferenceConflict):
        return "94", 409
    if isinstance(error, TemporarilyUnavailable):
        return "91", 503
    return "96", 500


def _reason(error: HubError) -> str:
    problems = error.problems if isinstance(error, InvalidRequest) else []
    return _problems_text(problems) if problems else error.message


class FileTooLarge(InvalidRequest):
    """The upload is bigger than ``upload_max_bytes``; split it into several files."""


def _answer(code: str = "00", /, **fields: object) -> dict[str, object]:
    return {"kodeRespon": code, "pesan": RESPONSE_CODES[code], **fields}


def _month(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y-%m}"


# --- the CSV upload -----------------------------------------------------------------------


class _RowTooLong(Exception):
    """A row of the file is longer than ``upload_max_row_chars``."""


class _Lines:
    """The file's physical lines for ``csv.reader``, counted, and never one longer than a cap.

    ``csv.reader`` pulls continuation lines itself for a quoted field that spans
    lines, so the row a reader returns starts at ``row_start`` and its size is
    checked across all its lines: a stray quote cannot swallow the rest of the file.
    """

    def __init__(self, text: IO[str], max_chars: int) -> None:
        self._text = text
        self._max = max_chars
        self.count = 0
        self.row_start = 1
        self._row_chars = 0

    def begin_row(self) -> None:
        self.row_start = self.count + 1
        self._row_chars = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self._text.readline(self._max + 1)
        if not line:
            raise StopIteration
        self.count += 1
        self._row_chars += len(line)
        if self._row_chars > self._max:
            while line and not line.endswith(("\n", "\r")):
                line = self._text.readline(self._max + 1)
            raise _RowTooLong
        return line


@dataclass(frozen=True, slots=True)
class _Columns:
    delimiter: str
    names: tuple[str, ...]

    @property
    def reference_at(self) -> int:
        return self.names.index("noReferensi")


def _columns(header: str) -> _Columns:
    """The header row: which columns, in which order, separated by ``,`` or ``;``."""
    if not header.strip():
        raise InvalidRequest(
            "the first line must name the columns",
            [FieldProblem("berkas", "empty first line; expected the column names", "missing")],
        )
    # Spreadsheets in an Indonesian locale write ';' (the comma is their decimal mark).
    delimiter = ";" if header.count(";") > header.count(",") else ","
    given = [c.strip() for c in next(csv.reader([header], delimiter=delimiter))]
    known = {c.lower(): c for c in CSV_COLUMNS}
    names = tuple(known.get(c.lower(), c) for c in given)
    if not set(names) & set(CSV_COLUMNS):
        expected = ",".join(CSV_COLUMNS)
        raise InvalidRequest(
            f"the first line must be the header row: {expected}",
            [FieldProblem("berkas", f"no header row; expected {expected}", "missing")],
        )
    problems = [FieldProblem(n, "unknown column") for n in names if n not in CSV_COLUMNS]
    problems += [
        FieldProblem(n, "missing column", "missing")
        for n in CSV_COLUMNS
        if n not in names and n not in _OPTIONAL_COLUMNS
    ]
    problems += [
        FieldProblem(n, "column given twice") for n in sorted(set(names)) if names.count(n) > 1
    ]
    if problems:
        raise InvalidRequest(
            f"the header row is not as documented: {_problems_text(problems)}", problems
        )
    return _Columns(delimiter, names)


_PROGRAMME_SEPARATORS = re.compile(r"[+\s]+")
_DIGITS = re.compile(r"[0-9]{1,15}")


def registration_of_row(cells: dict[str, str]) -> RegistrationRequest:
    """One file row as the same registration the counter API would send."""
    wire: dict[str, Any] = {name: value for name, value in cells.items() if value}
    if _DIGITS.fullmatch(wire.get("penghasilan", "")):
        wire["penghasilan"] = int(wire["penghasilan"])
    if "program" in wire:
        wire["program"] = [p.upper() for p in _PROGRAMME_SEPARATORS.split(wire["program"]) if p]
    try:
        parsed = RegistrationWire.model_validate(wire)
    except ValidationError as exc:
        raise refusal(exc) from None
    return registration_request(parsed)


@dataclass(frozen=True, slots=True)
class _Row:
    """One data row of the file: its first line, its reference, and what became of it so far."""

    line: int
    reference: str
    outcome: asyncio.Task[Acceptance] | HubError


def read_rows(
    file: IO[bytes], max_row_chars: int
) -> Generator[tuple[int, str, RegistrationRequest | HubError]]:
    """The file's data rows in order: (first line, reference, request or why it is refused).

    Reads the file a line at a time, so memory does not grow with its size. Raises
    ``InvalidRequest`` when the header row is not as documented: no row can be read then.
    """
    # errors="replace": one row with bytes that are not UTF-8 is refused, not the whole file.
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="replace", newline="")
    try:
        lines = _Lines(text, max_row_chars)
        try:
            header = next(lines, "")
        except _RowTooLong:
            header = "?"
        columns = _columns(header)
        reader = csv.reader(lines, delimiter=columns.delimiter, strict=True)
        while True:
            lines.begin_row()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _RowTooLong:
                yield (
                    lines.row_start,
                    "",
                    InvalidRequest(f"row longer than {max_row_chars} characters"),
                )
                continue
            except csv.Error as exc:
                yield lines.row_start, "", InvalidRequest(f"not a CSV row: {exc}")
                continue
            if not any(c.strip() for c in cells):
                continue
            yield (lines.row_start, *_row(columns, [c.strip() for c in cells]))
    finally:
        text.detach()


def _row(columns: _Columns, cells: list[str]) -> tuple[str, RegistrationRequest | HubError]:
    at = columns.reference_at
    reference = cells[at][:_REFERENCE_ECHO] if at < len(cells) else ""
    if len(cells) != len(columns.names):
        return reference, InvalidRequest(
            f"{len(cells)} columns where the header names {len(columns.names)} "
            f"(separated by {columns.delimiter!r})"
        )
    if any("\ufffd" in c for c in cells):
        return reference, InvalidRequest("the row is not valid UTF-8 text")
    try:
        return reference, registration_of_row(dict(zip(columns.names, cells, strict=True)))
    except InvalidRequest as exc:
        return reference, exc


class _Spool:
    """JSON objects, comma-separated, in a temporary file that stays in memory while small."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        self.count = 0

    def add(self, entry: dict[str, object]) -> None:
        if self.count:
            self.file.write(b",")
        self.file.write(orjson.dumps(entry))
        self.count += 1

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(64 * 1024):
            yield chunk


@dataclass
class UploadAnswer:
    """The answer to an upload, built row by row; rows are kept on disk, not in memory."""

    accepted: _Spool = field(default_factory=_Spool)
    rejected: _Spool = field(default_factory=_Spool)

    def accept(self, line: int, reference: str, hub_reference: str) -> None:
        self.accepted.add(
            {"baris": line, "noReferensi": reference, "noReferensiHub": hub_reference}
        )

    def reject(self, line: int, reference: str, error: HubError) -> None:
        code, _ = _code_of(error)
        self.rejected.add(
            {"baris": line, "noReferensi": reference, "kodeRespon": code, "alasan": _reason(error)}
        )

    def body(self) -> Iterator[bytes]:
        """Counts first, then every rejected row, then every accepted row, each in line order."""
        rows = self.accepted.count + self.rejected.count
        head = orjson.dumps(
            _answer(
                jumlahBaris=rows,
                jumlahDiterima=self.accepted.count,
                jumlahDitolak=self.rejected.count,
            )
        )
        yield head[:-1] + b',"ditolak":['
        yield from self.rejected.chunks()
        yield b'],"diterima":['
        yield from self.accepted.chunks()
        yield b"]}"

    def close(self) -> None:
        self.accepted.file.close()
        self.rejected.file.close()


# --- the adapter --------------------------------------------------------------------------


class PosAdapter(HttpChannelAdapter[PosOptions]):
    slug = "pos"
    settlement_reader = PosDailyReport()
    title = "Kantor Pos / Agen Pos"
    options_model = PosOptions
    answer_code_field = "kodeRespon"
    answer_statuses: ClassVar[Mapping[int, str]] = {
        400: "invalid input (30)",
        401: "unknown agent or bad signature (63)",
        403: "not allowed (63)",
        404: "unknown member (14) or transaction (25)",
        409: "reference reused (94)",
        422: "wrong amount (13), already paid (88), not reversible (12)",
        503: "try again (91)",
    }

    def router(self) -> APIRouter:
        router = self.http_router()
        router.add_api_route(REGISTRATION_PATH, self.registration, methods=["POST"])
        router.add_api_route(REGISTRATION_STATUS_PATH, self.registration_status, methods=["POST"])
        router.add_api_route(UPLOAD_PATH, self.upload, methods=["POST"])
        router.add_api_route(INQUIRY_PATH, self.inquiry, methods=["POST"])
        router.add_api_route(PAYMENT_PATH, self.payment, methods=["POST"])
        router.add_api_route(PAYMENT_STATUS_PATH, self.payment_status, methods=["POST"])
        router.add_api_route(REVERSAL_PATH, self.reversal, methods=["POST"])
        return router

    # counter API

    async def registration(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(RegistrationWire, body)
        accepted = await self.intake.submit_registration(partner, registration_request(wire))
        return self._accepted(accepted)

    async def registration_status(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(StatusWire, body)
        claimed = await self.intake.status(partner, "registration", wire.no_referensi)
        return JSONResponse(_answer(**_status(claimed), noKpj=claimed.kpj))

    async def inquiry(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(InquiryWire, body)
        bill = await self.intake.inquiry(
            build(InquiryRequest, {**_member(wire), "months": wire.jumlah_bulan}),
            partner,
            channel=self.slug,
        )
        return JSONResponse(
            _answer(
                nik=bill.nik,
                noKpj=bill.kpj,
                kodeBayar=bill.payment_code,
                nama=bill.masked_name,
                program=list(bill.programmes),
                statusPeserta=_MEMBER_STATUS[bill.member_status],
                lunasSampai=_month(bill.paid_through),
                jumlahBulan=bill.months,
                iuranBulanan=bill.monthly_amount,
                periodeAwal=_month(bill.covers_from),
                periodeAkhir=_month(bill.covers_through),
                jumlahBulanTunggakan=bill.arrears_months,
                tunggakanAwal=_month(bill.arrears_from),
                tunggakanAkhir=_month(bill.arrears_through),
                nominalTunggakan=bill.arrears_amount,
                totalTagihan=bill.amount_due,
            )
        )

    async def payment(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(PaymentWire, body)
        payment = build(
            PaymentRequest,
            {
                **_member(wire),
                "reference": wire.no_referensi,
                "months": wire.jumlah_bulan,
                "amount": wire.jumlah_bayar,
                "paid_at": wire.waktu_bayar,
                "outlet_id": wire.kode_loket,
            },
        )
        return self._accepted(await self.intake.submit_payment(partner, payment))

    async def payment_status(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(StatusWire, body)
        claimed = await self.intake.status(partner, "payment", wire.no_referensi)
        reversal = await self.intake.reversal_of(partner, wire.no_referensi)
        return JSONResponse(
            _answer(
                **_status(claimed),
                pembatalan=None
                if reversal is None
                else {
                    "noReferensiHub": reversal.hub_reference,
                    "status": _STATUS[reversal.status],
                    "alasan": reversal.reason,
                },
            )
        )

    async def reversal(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(ReversalWire, body)
        fields: dict[str, object] = {
            "reference": wire.no_referensi,
            "payment_reference": wire.no_referensi_bayar,
        }
        if wire.alasan is not None:
            fields["reason"] = wire.alasan
        accepted = await self.intake.submit_reversal(partner, build(ReversalRequest, fields))
        return self._accepted(accepted)

    # batch upload

    async def upload(self, request: Request) -> Response:
        """An agent's CSV file of registrations: every row on its own, answered row by row.

        The body is streamed into a temporary file while its SHA-256 is computed: no
        row reaches intake before the signature over the whole file is verified. The
        rows are then read one at a time and submitted with at most
        ``upload_concurrency`` in flight, and the answer is streamed from disk.
        """
        try:
            partner, settings, timestamp = self._credentials(request)
        except Unauthenticated:
            await self._discard(request)  # answer an upload only once it is sent whole
            raise
        if request.headers.get("content-type", "").startswith("multipart/"):
            await self._discard(request)
            raise InvalidRequest(
                "send the file itself as the body (Content-Type: text/csv), not a form",
                [FieldProblem("Content-Type", "multipart is not accepted; send text/csv")],
            )
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as file:
            digest = hashlib.sha256()
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.options.upload_max_bytes:
                    raise FileTooLarge(
                        f"the file is larger than {self.options.upload_max_bytes} bytes; "
                        "split it into several files",
                        [FieldProblem("berkas", "too large")],
                    )
                digest.update(chunk)
                file.write(chunk)
            self._check_signature(request, partner, settings, timestamp, digest.hexdigest())
            file.seek(0)
            answer = await self._submit_rows(partner, file)
        return StreamingResponse(
            answer.body(), media_type="application/json", background=BackgroundTask(answer.close)
        )

    async def _submit_rows(self, partner: Partner, file: IO[bytes]) -> UploadAnswer:
        answer = UploadAnswer()
        window: deque[_Row] = deque()
        latest: dict[str, asyncio.Task[Acceptance]] = {}
        unavailable: TemporarilyUnavailable | None = None
        rows = read_rows(file, self.options.upload_max_row_chars)
        try:
            for line, reference, parsed in rows:
                if isinstance(parsed, HubError):
                    window.append(_Row(line, reference, parsed))
                else:
                    # A reference seen earlier in the file claims first: the file's first
                    # row with it wins, on the first upload and on every re-upload.
                    earlier = latest.get(parsed.reference)
                    task = asyncio.create_task(self._submit_row(partner, parsed, earlier))
                    latest[parsed.reference] = task
                    window.append(_Row(line, parsed.reference, task))
                while len(window) >= self.options.upload_concurrency:
                    unavailable = (
                        await self._settle(window.popleft(), answer, latest) or unavailable
                    )
                if unavailable is not None:
                    break
            while window:
                unavailable = await self._settle(window.popleft(), answer, latest) or unavailable
        except BaseException:
            tasks = [row.outcome for row in window if isinstance(row.outcome, asyncio.Task)]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            answer.close()
            raise
        finally:
            rows.close()
        if unavailable is not None:
            # Rows accepted so far stay accepted: re-uploading the same file is safe.
            answer.close()
            raise TemporarilyUnavailable(
                f"{unavailable.message}; upload the same file again", unavailable.retry_after_s
            )
        return answer

    async def _submit_row(
        self,
        partner: Partner,
        registration: RegistrationRequest,
        earlier: "asyncio.Task[Acceptance] | None",
    ) -> Acceptance:
        if earlier is not None:
            await asyncio.wait([earlier])
        return await self.intake.submit_registration(partner, registration)

    async def _settle(
        self, row: _Row, answer: UploadAnswer, latest: dict[str, "asyncio.Task[Acceptance]"]
    ) -> TemporarilyUnavailable | None:
        """Record what became of the oldest row in flight; a broker outage is the upload's."""
        if not isinstance(row.outcome, asyncio.Task):
            answer.reject(row.line, row.reference, row.outcome)
            return None
        task = row.outcome
        try:
            accepted = await task
        except TemporarilyUnavailable as exc:
            return exc
        except HubError as exc:
            answer.reject(row.line, row.reference, exc)
        else:
            answer.accept(row.line, row.reference, accepted.hub_reference)
        finally:
            if latest.get(row.reference) is task:
                del latest[row.reference]
        return None

    async def _discard(self, request: Request) -> None:
        """Read what the client still sends (up to the upload limit), so it hears the answer."""
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.options.upload_max_bytes:
                return

    # authentication

    async def _signed(self, request: Request) -> tuple[Partner, bytes]:
        """A counter request's agent (signature checked) and its raw body."""
        partner, settings, timestamp = self._credentials(request)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > _COUNTER_BODY_LIMIT:
                raise InvalidRequest(
                    f"a counter request is at most {_COUNTER_BODY_LIMIT} bytes",
                    [FieldProblem("formulir", "too large")],
                )
        self._check_signature(request, partner, settings, timestamp, body_digest(bytes(body)))
        return partner, bytes(body)

    def _credentials(self, request: Request) -> tuple[Partner, PartnerSettings, str]:
        """The agent named by the headers, if it is a pos agent and its timestamp is fresh."""
        agent_id = request.headers.get(AGENT_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not agent_id or not timestamp or not request.headers.get(SIGNATURE_HEADER):
            raise Unauthenticated(
                f"{AGENT_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
            )
        known = self.context.partner(agent_id)
        if known is None:
            raise Unauthenticated(f"unknown agent {agent_id[:_REFERENCE_ECHO]!r}")
        try:
            sent_at = datetime.fromisoformat(timestamp)
        except ValueError:
            sent_at = None
        if sent_at is None or sent_at.tzinfo is None:
            raise Unauthenticated(
                f"{TIMESTAMP_HEADER} must be ISO 8601 with its UTC offset, "
                "e.g. 2026-03-10T09:00:00+07:00"
            )
        window = self.options.signature_window_s
        if abs((self.context.clock() - sent_at).total_seconds()) > window:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} is more than {window} s off the hub's clock")
        partner, settings = known
        return partner, settings, timestamp

    def _check_signature(
        self,
        request: Request,
        partner: Partner,
        settings: PartnerSettings,
        timestamp: str,
        digest: str,
    ) -> None:
        expected = sign(
            settings.secret.get_secret_value(),
            request.method,
            request.url.path,
            partner.partner_id,
            timestamp,
            digest,
        ).encode()
        given = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
        # Bytes: a header with non-ASCII characters is a bad signature, not a crash.
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
            raise Unauthenticated("signature does not match")

    # answers

    def _accepted(self, accepted: Acceptance) -> JSONResponse:
        return JSONResponse(
            _answer(
                noReferensi=accepted.reference,
                noReferensiHub=accepted.hub_reference,
                status=_STATUS["accepted"],
            )
        )

    def preflight(self, request: Request) -> Partner:
        partner, _, _ = self._credentials(request)
        well_formed(request.headers.get(SIGNATURE_HEADER), HEX_SHA256, SIGNATURE_HEADER)
        return partner

    def traits(self, path: str) -> RouteTraits:
        if path == UPLOAD_PATH:
            return RouteTraits("upload", self.options.upload_max_bytes, streaming=True)
        return super().traits(path)

    def error_response(self, request: Request, error: Exception) -> Response:
        member_lookup = request.url.path in (INQUIRY_PATH, PAYMENT_PATH)
        code, status = _code_of(error, member_lookup)
        body = _answer(code)
        headers: dict[str, str] = {}
        if isinstance(error, HubError):
            body["keterangan"] = _reason(error)
        if isinstance(error, InvalidRequest) and error.problems:
            body["kesalahan"] = [
                {"isian": _pos_field(p.field), "alasan": p.reason, "jenis": _KIND[p.kind]}
                for p in error.problems
            ]
        if isinstance(error, AmountMismatch):
            body["totalTagihan"] = error.amount_due
        if isinstance(error, TemporarilyUnavailable):
            headers["Retry-After"] = str(error.retry_after_s)
        return JSONResponse(body, status_code=status, headers=headers)


_KIND = {"missing": "WAJIB_DIISI", "invalid": "TIDAK_VALID"}


def _status(claimed: ClaimedRequest) -> dict[str, object]:
    return {
        "noReferensi": claimed.reference,
        "noReferensiHub": claimed.hub_reference,
        "status": _STATUS[claimed.status],
        "alasan": claimed.reason,
    }


# --- the agent's side of an upload (`hub upload pos FILE`) -----------------------------------


def upload_file(
    url: str,
    agent_id: str,
    secret: str,
    path: Path,
    *,
    on_sent: Callable[[int], None] = lambda n: None,
    timeout_s: float = 600.0,
    now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
) -> httpx.Response:
    """POST an agent's CSV file, signed, streaming it from disk; ``on_sent`` counts bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    timestamp = now().isoformat(timespec="seconds")

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as file:
            while chunk := file.read(256 * 1024):
                yield chunk
                on_sent(len(chunk))

    headers = {
        AGENT_HEADER: agent_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(
            secret, "POST", UPLOAD_PATH, agent_id, timestamp, digest.hexdigest()
        ),
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Length": str(path.stat().st_size),
    }
    timeout = httpx.Timeout(30.0, read=timeout_s)
    return httpx.post(
        url.rstrip("/") + UPLOAD_PATH, content=chunks(), headers=headers, timeout=timeout
    )


ADAPTER = PosAdapter
