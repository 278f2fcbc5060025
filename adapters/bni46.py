"""Agen BNI 46: ISO 8583 bill payment over TCP, registrations over signed JSON.

BNI's switch keeps persistent TCP connections to the hub and sends 0800 echo/sign-on,
0200 inquiry and payment (told apart by the processing code) and 0400/0401 reversals;
the agents' registration forms arrive as signed JSON at ``/bni46/v1/registrations``.
docs/channels/bni46.md is the partner's description of all of it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from adapters import bni46_iso as iso
from adapters.bni46_iso import ResponseCode
from adapters.bni46_settlement import Bni46SettlementFile
from hub.channels.base import ChannelContext, ChannelOptions, HttpChannelAdapter
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
from hub.intake.model import InquiryAnswer, Partner
from hub.intake.parsing import build, refusal
from hub.intake.requests import (
    InquiryRequest,
    PaymentRequest,
    RegistrationRequest,
    ReversalRequest,
)
from hub.signing import SignatureHeaders, SignatureVerifier, request_target
from hub.store.outage import as_partner_error

log = logging.getLogger("hub.channels.bni46")


class Bni46Options(ChannelOptions):
    """``[channels.bni46]``: where the ISO 8583 server listens and how it guards itself."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    """0 = any free port (tests); the bound port is ``Bni46Adapter.port``."""
    max_frame_bytes: int = Field(4096, ge=64, le=65535)
    """A length prefix above this closes the connection: no BNI 46 message comes near it."""
    frame_timeout_s: float = Field(10.0, gt=0)
    """How long a whole frame may take once its first byte (of the length prefix) arrived."""
    max_connections_per_client: int = Field(16, ge=1)
    """Connections one address may hold open; more are closed at once."""
    idle_timeout_s: float = Field(300.0, gt=0)
    """A connection silent this long is closed; the switch echoes (0800/301) to keep it open."""
    max_in_flight: int = Field(32, ge=1)
    """Requests of one connection answered concurrently; more wait before being read."""
    shutdown_grace_s: float = Field(10.0, gt=0)
    """On stop or hang-up, how long requests already read may take to be answered."""
    signature_window_s: int = Field(300, gt=0)
    """Replay window of the JSON registration API's X-Timestamp."""


def _valid_clock(digits: str) -> bool:
    hour, minute, second = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    return hour < 24 and minute < 60 and second < 60


def _valid_day(digits: str) -> bool:
    try:
        # 2000 is a leap year, so 0229 counts as a date.
        datetime(2000, int(digits[0:2]), int(digits[2:4]))
    except ValueError:
        return False
    return True


def _mmddhhmmss(value: str) -> str:
    if not (_valid_day(value[:4]) and _valid_clock(value[4:])):
        raise ValueError("not a date and time MMDDhhmmss")
    return value


def _hhmmss(value: str) -> str:
    if not _valid_clock(value):
        raise ValueError("not a time hhmmss")
    return value


def _mmdd(value: str) -> str:
    if not _valid_day(value):
        raise ValueError("not a date MMDD")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


TransmissionTime = Annotated[str, Field(pattern=r"^[0-9]{10}$"), AfterValidator(_mmddhhmmss)]
Stan = Annotated[str, Field(pattern=r"^[0-9]{6}$")]


def _printable(width: int) -> str:
    """A pattern for an ISO ``ans`` field of ``width`` printable ASCII characters."""
    return rf"^[ -~]{{{width}}}$"


class _Message(BaseModel):
    """A decoded ISO 8583 message; aliases are field numbers, fields not named are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class NetworkManagement(_Message):
    """0800: echo test (301), sign-on (001) or sign-off (002)."""

    transmitted_at: Annotated[TransmissionTime, Field(alias="7")]
    stan: Annotated[Stan, Field(alias="11")]
    network_code: Annotated[Literal["001", "002", "301"], Field(alias="70")]


class _BillMessage(_Message):
    """What every 0200 and 0400 carries: who sent it, when and where."""

    transmitted_at: Annotated[TransmissionTime, Field(alias="7")]
    stan: Annotated[Stan, Field(alias="11")]
    local_time: Annotated[str, Field(alias="12", pattern=r"^[0-9]{6}$"), AfterValidator(_hhmmss)]
    local_date: Annotated[str, Field(alias="13", pattern=r"^[0-9]{4}$"), AfterValidator(_mmdd)]
    acquirer: Annotated[str, Field(alias="32", pattern=r"^[0-9]{1,11}$")]
    rrn: Annotated[str, Field(alias="37", pattern=r"^[0-9A-Za-z]{12}$")]
    terminal_id: Annotated[
        str, Field(alias="41", pattern=_printable(8)), AfterValidator(_not_blank)
    ]
    acceptor_id: Annotated[str | None, Field(alias="42", pattern=_printable(15))] = None
    currency: Annotated[Literal["360"] | None, Field(alias="49")] = None

    @property
    def outlet_id(self) -> str:
        """The agent: its acceptor id (42), or else its terminal id (41)."""
        return (self.acceptor_id or "").strip() or self.terminal_id.strip()


class BillRequest(_BillMessage):
    """0200: an inquiry (380000) or a payment (180000) of one member's bill."""

    processing_code: Annotated[Literal["380000", "180000"], Field(alias="3")]
    amount: Annotated[str | None, Field(alias="4", pattern=r"^[0-9]{12}$")] = None
    bill: Annotated[
        str,
        # The member id is any printable text here: one that is neither a NIK nor a payment
        # code names no member (14), as the page says; only the layout is a format error (30).
        Field(alias="48", min_length=22, max_length=22, pattern=r"^[!-~][ -~]{19}[0-9]{2}$"),
    ]

    @property
    def member_id(self) -> str:
        return self.bill[:20].rstrip()

    @property
    def months(self) -> int:
        return int(self.bill[20:22])


class ReversalAdvice(_BillMessage):
    """0400 (or its repeat 0401): take back the payment whose RRN is field 37."""

    processing_code: Annotated[Literal["180000"], Field(alias="3")]
    amount: Annotated[str, Field(alias="4", pattern=r"^[0-9]{12}$")]
    original: Annotated[str, Field(alias="90", pattern=r"^0200[0-9]{38}$")]

    @property
    def original_stan(self) -> str:
        return self.original[4:10]


_ECHOED = ("3", "4", "7", "11", "12", "13", "32", "37", "41", "42", "48", "49", "70", "90")
"""Request fields a response repeats, so the switch matches it to its request."""
_REVERSAL_MTIS = frozenset({"0400", "0401"})


def response_code(error: HubError, mti: str) -> ResponseCode:
    """Field 39 for a refusal; subclasses are tested before the classes they refine."""
    if isinstance(error, AmountMismatch):
        return ResponseCode.WRONG_AMOUNT
    if isinstance(error, AlreadyPaid):
        return ResponseCode.ALREADY_PAID
    if isinstance(error, NotReversible):
        return ResponseCode.NOT_REVERSIBLE
    if isinstance(error, InvalidRequest):
        named = {p.field for p in error.problems}
        if named and named <= {"nik", "payment_code"}:
            return ResponseCode.UNKNOWN_BILL
        if named == {"amount"}:
            return ResponseCode.WRONG_AMOUNT
        return ResponseCode.FORMAT_ERROR
    if isinstance(error, Unauthenticated | Forbidden):
        return ResponseCode.SECURITY_VIOLATION
    if isinstance(error, NotFound):
        if mti in _REVERSAL_MTIS:
            return ResponseCode.ORIGINAL_NOT_FOUND
        return ResponseCode.UNKNOWN_BILL
    if isinstance(error, ReferenceConflict):
        return ResponseCode.DUPLICATE
    if isinstance(error, TemporarilyUnavailable):
        return ResponseCode.RETRY
    return ResponseCode.SYSTEM_ERROR


class RegistrationForm(BaseModel):
    """A registration as a BNI agent's application sends it (BNI's field names)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trx_id: str
    nik: str
    customer_name: str
    birth_date: str
    gender: Literal["L", "P"]
    customer_phone: str
    customer_address: str
    occupation: str
    monthly_income: StrictInt
    programs: list[str]
    agent_id: str | None = None


_SEX = {"L": "M", "P": "F"}
"""Laki-laki / Perempuan, as Indonesian forms write it."""
_BNI_NAMES = {
    "reference": "trx_id",
    "full_name": "customer_name",
    "sex": "gender",
    "phone": "customer_phone",
    "address": "customer_address",
    "declared_income": "monthly_income",
    "programmes": "programs",
    "outlet_id": "agent_id",
}
"""The hub's field names in BNI's words, so a refusal names the field the agent sent."""

_JSON_STATUS = {
    ResponseCode.APPROVED: 200,
    ResponseCode.FORMAT_ERROR: 400,
    ResponseCode.SECURITY_VIOLATION: 401,
    ResponseCode.ORIGINAL_NOT_FOUND: 404,
    ResponseCode.DUPLICATE: 409,
    ResponseCode.RETRY: 503,
    ResponseCode.SYSTEM_ERROR: 500,
}


def _json_code(error: Exception) -> ResponseCode:
    if isinstance(error, InvalidRequest):
        return ResponseCode.FORMAT_ERROR
    if isinstance(error, Unauthenticated | Forbidden):
        return ResponseCode.SECURITY_VIOLATION
    if isinstance(error, NotFound):
        return ResponseCode.ORIGINAL_NOT_FOUND
    if isinstance(error, ReferenceConflict):
        return ResponseCode.DUPLICATE
    if isinstance(error, TemporarilyUnavailable):
        return ResponseCode.RETRY
    return ResponseCode.SYSTEM_ERROR


def _in_bni_words(error: InvalidRequest) -> InvalidRequest:
    problems = [
        FieldProblem(_BNI_NAMES.get(p.field, p.field), p.reason, p.kind) for p in error.problems
    ]
    return InvalidRequest(error.message, problems)


@dataclass(eq=False)
class _Connection:
    """One TCP connection from the switch and the requests it has in flight."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer: str
    slots: asyncio.Semaphore
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)
    answering: set[asyncio.Task[None]] = field(default_factory=set)
    reading: asyncio.Task[None] | None = None
    address: str = ""


def peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's IP address (without its port)."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class _HangUp(Exception):
    """The connection cannot go on (framing lost, or a frame no one can answer)."""


class Bni46Adapter(HttpChannelAdapter[Bni46Options]):
    """BNI's switch over ISO 8583 (a TCP server of its own) and BNI agents over JSON."""

    settlement_reader = Bni46SettlementFile()

    slug = "bni46"
    title = "Agen BNI 46"
    options_model = Bni46Options
    answer_code_field = "response_code"
    answer_statuses: ClassVar[Mapping[int, str]] = {
        400: "format error (30)",
        401: "security violation (63)",
        404: "not found (25)",
        409: "duplicate (94)",
        503: "retry (91)",
    }

    def __init__(self, context: ChannelContext, options: Bni46Options) -> None:
        super().__init__(context, options)
        self._verifier = SignatureVerifier(
            context.partners, options.signature_window_s, lambda: context.clock().timestamp()
        )
        # The switch names its bank in field 32; each partner's acquirer id is in its options.
        self._acquirers: dict[str, str] = {}
        for partner_id, settings in context.partners.items():
            acquirer = settings.options.get("acquirer_id")
            if acquirer is None:
                continue
            if acquirer in self._acquirers:
                raise ValueError(f"bni46 partners share the acquirer id {acquirer!r}")
            self._acquirers[acquirer] = partner_id
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        """The port the ISO 8583 server is bound to (``options.port``, or the one picked)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the BNI 46 ISO 8583 server is not running")
        return int(self._server.sockets[0].getsockname()[1])

    # -- ISO 8583 over TCP -----------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, self.options.host, self.options.port
        )
        log.info("BNI 46 ISO 8583 server on %s:%d", self.options.host, self.port)

    async def stop(self) -> None:
        """Stop listening, stop reading, answer what was already read, then hang up."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections):
            if connection.reading is not None:
                connection.reading.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers))
        await server.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = str(writer.get_extra_info("peername"))
        connection = _Connection(
            reader, writer, peer, asyncio.Semaphore(self.options.max_in_flight)
        )
        handler = asyncio.current_task()
        address = peer_address(writer)
        held = sum(1 for c in self._connections if c.address == address)
        crowded = held >= self.options.max_connections_per_client
        if self._server is None or handler is None or crowded:
            if crowded:
                log.warning("%s: more than %d connections; closing", peer, held)
            writer.close()
            return
        connection.address = address
        self._handlers.add(handler)
        self._connections.add(connection)
        connection.reading = asyncio.create_task(self._read_requests(connection))
        try:
            # wait(), not await: a reading loop cancelled by stop() is a normal end here.
            await asyncio.wait([connection.reading])
        finally:
            connection.reading.cancel()
            await self._hang_up(connection)
            self._connections.discard(connection)
            self._handlers.discard(handler)

    async def _hang_up(self, connection: _Connection) -> None:
        if connection.answering:
            _, late = await asyncio.wait(
                list(connection.answering), timeout=self.options.shutdown_grace_s
            )
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        connection.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await connection.writer.wait_closed()

    async def _read_requests(self, connection: _Connection) -> None:
        """Read frames until the peer leaves or the stream is beyond repair; never raise."""
        try:
            while True:
                message = await self._read_frame(connection.reader)
                await self._take(connection, message)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                log.warning("%s: hung up in the middle of a frame", connection.peer)
        except (ConnectionError, OSError):
            log.info("%s: connection lost", connection.peer)
        except _HangUp as exc:
            log.warning("%s: closing the connection: %s", connection.peer, exc)
        except Exception:
            log.exception("%s: unexpected error reading frames; closing", connection.peer)

    async def _read_frame(self, reader: asyncio.StreamReader) -> bytes:
        """One frame. The idle timeout runs until its first byte; from then on, the whole
        frame (the rest of its length prefix included) has ``frame_timeout_s``."""
        try:
            first = await asyncio.wait_for(reader.readexactly(1), self.options.idle_timeout_s)
        except TimeoutError:
            raise _HangUp(f"idle for {self.options.idle_timeout_s:g} s") from None
        try:
            async with asyncio.timeout(self.options.frame_timeout_s):
                prefix = first + await reader.readexactly(iso.FRAME_PREFIX_BYTES - 1)
                size = int.from_bytes(prefix, "big")
                if size == 0 or size > self.options.max_frame_bytes:
                    raise _HangUp(f"frame length {size} outside 1..{self.options.max_frame_bytes}")
                return await reader.readexactly(size)
        except TimeoutError:
            raise _HangUp("a frame did not arrive whole within the frame timeout") from None

    async def _take(self, connection: _Connection, message: bytes) -> None:
        """Decode one frame and hand it to a task of its own; the reader moves on at once."""
        try:
            fields = iso.decode(message)
            refusal_code: ResponseCode | None = None
        except iso.MalformedMessage as bad:
            if bad.mti not in iso.REQUEST_MTIS:
                raise _HangUp(f"unreadable frame ({bad})") from None
            log.warning("%s: malformed %s: %s", connection.peer, bad.mti, bad)
            fields = {**bad.fields, "t": bad.mti}
            refusal_code = ResponseCode.FORMAT_ERROR
        if fields["t"] not in iso.REQUEST_MTIS:
            raise _HangUp(f"MTI {fields['t']!r} is not a request this channel answers")
        await connection.slots.acquire()
        task = asyncio.create_task(self._answer(connection, fields, refusal_code))
        connection.answering.add(task)
        task.add_done_callback(connection.answering.discard)

    async def _answer(
        self, connection: _Connection, fields: dict[str, str], refusal_code: ResponseCode | None
    ) -> None:
        try:
            if refusal_code is None:
                answer = await self.respond(fields)
            else:
                answer = self._reply(fields, refusal_code)
            response = iso.frame(self._encode(answer))
            async with connection.writing:
                connection.writer.write(response)
                await connection.writer.drain()
        except (ConnectionError, OSError):
            log.info("%s: left before its answer was sent", connection.peer)
        except Exception:
            # Nothing may escape a task no one awaits; the connection serves on.
            log.exception("%s: could not answer STAN %s", connection.peer, fields.get("11"))
        finally:
            connection.slots.release()

    async def respond(self, fields: dict[str, str]) -> dict[str, str]:
        """The response fields to one decoded request (``fields["t"]`` is a request MTI)."""
        mti = fields["t"]
        try:
            extra = await self._handle(mti, fields)
        except HubError as error:
            code = response_code(error, mti)
            log.info(
                "%s STAN %s RRN %s refused %s: %s",
                mti,
                fields.get("11"),
                fields.get("37"),
                code.value,
                error.message,
            )
            return self._reply(fields, code)
        except Exception as raised:
            failure = as_partner_error(raised)
            if isinstance(failure, HubError):
                log.warning("%s STAN %s: %s", mti, fields.get("11"), failure.message)
                return self._reply(fields, response_code(failure, mti))
            log.exception("%s STAN %s: unexpected error", mti, fields.get("11"))
            return self._reply(fields, ResponseCode.SYSTEM_ERROR)
        return {**self._reply(fields, ResponseCode.APPROVED), **extra}

    @staticmethod
    def _reply(fields: dict[str, str], code: ResponseCode) -> dict[str, str]:
        answer = {key: fields[key] for key in _ECHOED if key in fields}
        return {**answer, "t": iso.REQUEST_MTIS[fields["t"]], "39": code.value}

    @staticmethod
    def _encode(answer: dict[str, str]) -> bytes:
        try:
            return iso.encode(answer)
        except (ValueError, TypeError):
            log.exception("could not encode the answer %r; answering 96", answer)
            minimal: dict[str, str] = {k: answer[k] for k in ("t", "7", "11", "37") if k in answer}
            return iso.encode({**minimal, "39": ResponseCode.SYSTEM_ERROR.value})

    async def _handle(self, mti: str, fields: dict[str, str]) -> dict[str, str]:
        """Fields the approval adds to the echoed ones; a refusal is a ``HubError``."""
        data: dict[str, object] = dict(fields)
        if mti == "0800":
            build(NetworkManagement, data)
            return {}
        if mti == "0200":
            request = build(BillRequest, data)
            partner = self._partner(request.acquirer)
            if request.processing_code == iso.INQUIRY:
                return await self._inquiry(partner, request)
            return await self._payment(partner, request)
        advice = build(ReversalAdvice, data)
        return await self._reversal(self._partner(advice.acquirer), advice)

    def _partner(self, acquirer: str) -> Partner:
        found = self.context.partner(self._acquirers.get(acquirer))
        if found is None:
            raise Unauthenticated(f"acquiring institution {acquirer!r} is not a BNI 46 partner")
        return found[0]

    def _member(self, member_id: str) -> dict[str, object]:
        """A payment code (the biller prefix + an 11-digit KPJ) or else a NIK."""
        prefix = self.intake.payment_codes.prefix
        if member_id.startswith(prefix) and len(member_id) == len(prefix) + 11:
            return {"payment_code": member_id}
        return {"nik": member_id}

    async def _inquiry(self, partner: Partner, request: BillRequest) -> dict[str, str]:
        inquiry = build(
            InquiryRequest, {**self._member(request.member_id), "months": request.months}
        )
        bill = await self.intake.inquiry(inquiry, partner, channel=self.slug)
        return {"4": iso.amount_field(bill.amount_due), "48": _bill_answer(request, bill)}

    async def _payment(self, partner: Partner, request: BillRequest) -> dict[str, str]:
        if request.amount is None:
            raise InvalidRequest(
                "a payment carries its amount in field 4", [FieldProblem("4", "missing", "missing")]
            )
        if not request.amount.endswith("00"):
            raise InvalidRequest(
                f"amount {request.amount} is not whole rupiah",
                [FieldProblem("amount", "whole rupiah: the two implied decimals must be 00")],
            )
        payment = build(
            PaymentRequest,
            {
                **self._member(request.member_id),
                "reference": request.rrn,
                "months": request.months,
                "amount": int(request.amount) // 100,
                "paid_at": self._transaction_time(request, partner),
                "outlet_id": request.outlet_id,
            },
        )
        accepted = await self.intake.submit_payment(partner, payment)
        receipt = request.bill + iso.fixed(accepted.hub_reference, 20)
        return {"48": receipt}

    async def _reversal(self, partner: Partner, advice: ReversalAdvice) -> dict[str, str]:
        # A 0401 repeats its 0400 with the same STAN: the same reversal, answered as before.
        reversal = build(
            ReversalRequest,
            {
                "reference": f"{advice.rrn}-{advice.stan}",
                "payment_reference": advice.rrn,
                "reason": f"reversed by the BNI 46 switch (original STAN {advice.original_stan})",
            },
        )
        await self.intake.submit_reversal(partner, reversal)
        return {}

    def _transaction_time(self, request: _BillMessage, partner: Partner) -> datetime:
        """Fields 12 and 13 in the partner's zone; the year is the one nearest the hub's now.

        Not field 7: a retransmission has a new transmission time but is the same payment.
        """
        zone = ZoneInfo(partner.timezone)
        now = self.context.clock().astimezone(zone)
        month, day = int(request.local_date[:2]), int(request.local_date[2:])
        hour, minute, second = (int(request.local_time[i : i + 2]) for i in (0, 2, 4))
        candidates = []
        for year in (now.year - 1, now.year, now.year + 1):
            with contextlib.suppress(ValueError):
                candidates.append(datetime(year, month, day, hour, minute, second, tzinfo=zone))
        if not candidates:
            raise InvalidRequest(
                "field 13 is 29 February far from a leap year",
                [FieldProblem("13", "not a date near today")],
            )
        return min(candidates, key=lambda moment: abs(moment - now))

    # -- registrations over signed JSON ------------------------------------------------------

    def router(self) -> APIRouter:
        router = self.http_router()

        @router.post("/bni46/v1/registrations", summary="BNI 46: submit a BPU registration")
        async def submit_registration(request: Request) -> JSONResponse:
            body = await request.body()
            partner = self._authenticated(request, body)
            try:
                form = RegistrationForm.model_validate_json(body)
            except ValidationError as exc:
                raise refusal(exc) from None
            try:
                registration = build(
                    RegistrationRequest,
                    {
                        "reference": form.trx_id,
                        "nik": form.nik,
                        "full_name": form.customer_name,
                        "birth_date": form.birth_date,
                        "sex": _SEX[form.gender],
                        "phone": form.customer_phone,
                        "address": form.customer_address,
                        "occupation": form.occupation,
                        "declared_income": form.monthly_income,
                        "programmes": form.programs,
                        "outlet_id": form.agent_id,
                    },
                )
                accepted = await self.intake.submit_registration(partner, registration)
            except InvalidRequest as exc:
                raise _in_bni_words(exc) from None
            return _approved(
                trx_id=accepted.reference,
                hub_reference=accepted.hub_reference,
                status=accepted.status,
                kpj=accepted.kpj,
            )

        @router.get("/bni46/v1/registrations/{trx_id}", summary="BNI 46: status of a registration")
        async def registration_status(trx_id: str, request: Request) -> JSONResponse:
            partner = self._authenticated(request, await request.body())
            claimed = await self.intake.status(partner, "registration", trx_id)
            return _approved(
                trx_id=claimed.reference,
                hub_reference=claimed.hub_reference,
                status=claimed.status,
                reason=claimed.reason,
                kpj=claimed.kpj,
            )

        return router

    def _authenticated(self, request: Request, body: bytes) -> Partner:
        """The hub API's signature (v1, or v2 over this request's method, path and query)."""
        signed = SignatureHeaders.of(request.headers)
        return self._verifier.verify(
            signed.partner_id,
            signed.timestamp,
            signed.signature,
            body,
            version=signed.version,
            method=request.method,
            target=request_target(request.url.path, request.url.query),
            nonce=signed.nonce,
        )

    def preflight(self, request: Request) -> Partner:
        partner, _ = self._verifier.preflight(SignatureHeaders.of(request.headers))
        return partner

    def error_response(self, request: Request, error: Exception) -> Response:
        code = _json_code(error)
        if isinstance(error, HubError) and code is not ResponseCode.SYSTEM_ERROR:
            message = error.message
        else:
            message = "system error; the hub logged it"
        problems = error.problems if isinstance(error, InvalidRequest) else []
        headers = {}
        if isinstance(error, TemporarilyUnavailable):
            headers["Retry-After"] = str(error.retry_after_s)
        return JSONResponse(
            {
                "response_code": code.value,
                "response_message": message,
                "errors": [{"field": p.field, "reason": p.reason} for p in problems],
            },
            status_code=_JSON_STATUS[code],
            headers=headers,
        )


def _approved(**fields: object) -> JSONResponse:
    return JSONResponse({"response_code": "00", "response_message": "approved", **fields})


def _bill_answer(request: BillRequest, bill: InquiryAnswer) -> str:
    values = (
        request.bill[:20],
        f"{bill.months:02d}",
        bill.kpj or "",
        bill.masked_name,
        "+".join(bill.programmes),
        bill.member_status,
        f"{bill.covers_from:%Y%m}",
        f"{bill.covers_through:%Y%m}",
        iso.amount_field(bill.monthly_amount),
        f"{bill.arrears_months:02d}",
        "" if bill.arrears_through is None else f"{bill.arrears_through:%Y%m}",
    )
    return "".join(
        iso.fixed(value, width)
        for value, (_, width) in zip(values, iso.INQUIRY_ANSWER_LAYOUT, strict=True)
    )


ADAPTER = Bni46Adapter
