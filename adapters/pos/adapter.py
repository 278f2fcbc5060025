"""Kantor Pos / Agen Pos: the post office's JSON counter API and its agents' CSV batch upload.

Counter clerks register members, ask what a member owes (inquiry), take payments
and reverse them; agents in villages collect registration forms offline and
upload them later as one CSV file. Every request is signed by the agent
(``X-Pos-Agent-Id``, ``X-Pos-Timestamp``, ``X-Pos-Signature``) and every answer
carries the post office's ``kodeRespon``. The partner-facing description, with
the codes and the CSV columns, is docs/channels/pos.md.
"""

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field
from starlette.background import BackgroundTask

from adapters.pos.settlement import PosDailyReport
from adapters.pos.signing import SCHEME
from adapters.pos.upload import received, submit_rows
from adapters.pos.wire import (
    CODES,
    INQUIRY_PATH,
    KIND,
    MEMBER_STATUS,
    PAYMENT_PATH,
    PAYMENT_STATUS_PATH,
    REGISTRATION_PATH,
    REGISTRATION_STATUS_PATH,
    REVERSAL_PATH,
    STATUS,
    TERMS,
    UPLOAD_PATH,
    InquiryWire,
    PaymentWire,
    RegistrationWire,
    ReversalWire,
    StatusWire,
    answer,
    code_of,
    member_of,
    month,
    reason,
    registration_request,
    status_fields,
)
from hub.api.edge import RouteTraits
from hub.channels.base import HttpChannelAdapter, SignedOptions
from hub.channels.routes import Operation
from hub.channels.signatures import Body
from hub.errors import (
    AmountMismatch,
    FieldProblem,
    HubError,
    InvalidRequest,
    Unauthenticated,
)
from hub.intake.model import Acceptance, Partner
from hub.intake.parsing import build, parse_json
from hub.intake.requests import InquiryRequest, PaymentRequest, ReversalRequest

COUNTER_BODY_LIMIT = 64 * 1024


class PosOptions(SignedOptions):
    """``[channels.pos]``: replay window and how uploads are read and submitted."""

    upload_concurrency: int = Field(2048, ge=1, le=8192)
    """Rows of one batch of an upload (two batches are in intake at once): enough for the
    store and Kafka to batch. 100,000 rows in production's layout, six alternated pairs
    (2026-12-06): 10.61-11.47 s (mean 11.01) against 11.13-12.50 (11.73) at 1,024, with
    the hub's peak RSS 13 MiB higher (33 in ``hub run``, whose time did not change); 4,096
    was no faster than 2,048 (three pairs) for 27 MiB more."""
    upload_max_bytes: int = Field(64 * 1024 * 1024, gt=0)
    upload_max_row_chars: int = Field(4096, ge=256)


class PosAdapter(HttpChannelAdapter[PosOptions], slug="pos", title="Kantor Pos / Agen Pos"):
    """The counter API (registration, inquiry, payment, reversal, their status) and the
    agents' batch upload, all signed by the agent and answered with a ``kodeRespon``."""

    settlement_reader = PosDailyReport()
    signature_scheme = SCHEME
    codes = CODES

    def operations(self) -> list[Operation]:
        return [
            Operation(REGISTRATION_PATH, self.registration),
            Operation(REGISTRATION_STATUS_PATH, self.registration_status),
            Operation(UPLOAD_PATH, self.upload),
            Operation(INQUIRY_PATH, self.inquiry),
            Operation(PAYMENT_PATH, self.payment),
            Operation(PAYMENT_STATUS_PATH, self.payment_status),
            Operation(REVERSAL_PATH, self.reversal),
        ]

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
        return JSONResponse(answer(**status_fields(claimed), noKpj=claimed.kpj))

    async def inquiry(self, request: Request) -> JSONResponse:
        partner, body = await self._signed(request)
        wire = parse_json(InquiryWire, body)
        bill = await self.intake.inquiry(
            build(InquiryRequest, {**member_of(wire), "months": wire.jumlah_bulan}),
            partner,
            channel=self.slug,
        )
        return JSONResponse(
            answer(
                nik=bill.nik,
                noKpj=bill.kpj,
                kodeBayar=bill.payment_code,
                nama=bill.masked_name,
                program=list(bill.programmes),
                statusPeserta=MEMBER_STATUS[bill.member_status],
                lunasSampai=month(bill.paid_through),
                jumlahBulan=bill.months,
                iuranBulanan=bill.monthly_amount,
                periodeAwal=month(bill.covers_from),
                periodeAkhir=month(bill.covers_through),
                jumlahBulanTunggakan=bill.arrears_months,
                tunggakanAwal=month(bill.arrears_from),
                tunggakanAkhir=month(bill.arrears_through),
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
                **member_of(wire),
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
            answer(
                **status_fields(claimed),
                pembatalan=None
                if reversal is None
                else {
                    "noReferensiHub": reversal.hub_reference,
                    "status": STATUS[reversal.status],
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
        rows are then read and submitted in batches of ``upload_concurrency`` rows, two
        batches in intake at once and claimed in file order, and the answer is streamed
        from disk.
        """
        try:
            claimant = self.verifier.claimant(request.headers)
        except Unauthenticated:
            await self._discard(request)  # answer an upload only once it is sent whole
            raise
        if request.headers.get("content-type", "").startswith("multipart/"):
            await self._discard(request)
            raise InvalidRequest(
                "send the file itself as the body (Content-Type: text/csv), not a form",
                [FieldProblem("Content-Type", "multipart is not accepted; send text/csv")],
            )
        async with received(request.stream(), self.options.upload_max_bytes) as (file, digest):
            body = Body(None, digest)
            self.verifier.check(claimant, request.method, request.url.path, body)
            submission = self.intake.file_submission(claimant.partner)
            try:
                answer = await submit_rows(
                    submission.submit,
                    file,
                    self.options.upload_concurrency,
                    self.options.upload_max_row_chars,
                )
            finally:
                await submission.settle()
        return StreamingResponse(
            answer.body(), media_type="application/json", background=BackgroundTask(answer.close)
        )

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
        claimant = self.verifier.claimant(request.headers)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > COUNTER_BODY_LIMIT:
                raise InvalidRequest(
                    f"a counter request is at most {COUNTER_BODY_LIMIT} bytes",
                    [FieldProblem("formulir", "too large")],
                )
        self.verifier.check(claimant, request.method, request.url.path, Body.of(bytes(body)))
        return claimant.partner, bytes(body)

    # answers

    def _accepted(self, accepted: Acceptance) -> JSONResponse:
        return JSONResponse(
            answer(
                noReferensi=accepted.reference,
                noReferensiHub=accepted.hub_reference,
                status=STATUS["accepted"],
            )
        )

    def traits(self, path: str) -> RouteTraits:
        if path == UPLOAD_PATH:
            return RouteTraits("upload", self.options.upload_max_bytes, streaming=True)
        return super().traits(path)

    def error_response(self, request: Request, error: Exception) -> Response:
        member_lookup = request.url.path in (INQUIRY_PATH, PAYMENT_PATH)
        code, status = code_of(error, member_lookup)
        body = answer(code)
        if isinstance(error, HubError):
            body["keterangan"] = reason(error)
        if isinstance(error, InvalidRequest) and error.problems:
            body["kesalahan"] = [
                {"isian": TERMS.field(p.field), "alasan": p.reason, "jenis": KIND[p.kind]}
                for p in error.problems
            ]
        if isinstance(error, AmountMismatch):
            body["totalTagihan"] = error.amount_due
        return JSONResponse(body, status_code=status)


ADAPTER = PosAdapter
