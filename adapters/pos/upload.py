"""An agent's upload: its rows submitted to intake in batches, its answer spooled to disk.

Each row is one registration, answered on its own; intake takes a batch of rows in one
claim statement and publishes their events together. A broker outage is the whole
upload's (the agent sends the same file again, and rows accepted before stay accepted).
"""

import asyncio
import hashlib
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO

import msgspec
import orjson

from adapters.pos.csv_rows import read_rows
from adapters.pos.wire import FileTooLarge, code_of, reason
from adapters.pos.wire import answer as coded_answer
from hub.errors import FieldProblem, HubError, TemporarilyUnavailable
from hub.intake.model import Acceptance
from hub.intake.requests import RegistrationRequest

SPOOL_IN_MEMORY = 1024 * 1024
"""Uploads and answers up to this size stay in memory; larger ones go to a temporary file."""

PARSE_STEP = 64
"""Rows parsed between turns of the event loop while a batch is in intake.

Parsing is CPU work that never waits, so without the turns the batch in intake only began
once the next batch was whole, and its waits (the claim statement, the broker's answer)
were the whole upload's. With them, the next rows are parsed while those answers are on
their way. 100,000 rows, production's layout, three alternated pairs: 14.00, 13.88 and
13.11 s against 14.71, 14.27 and 14.22; the re-upload 10.28, 10.20 and 10.89 s against
11.97, 11.35 and 11.55."""

BATCHES_IN_INTAKE = 2
"""Batches of an upload in intake at once. Their claims are taken in file order
(``FileSubmission``), but one batch's claim statement runs while the batch before it
waits for the broker, so PostgreSQL and the broker work at the same time. 100,000 rows,
against one batch at a time, alternated pairs (2026-12-06): production's layout 9.63,
9.80, 9.94, 9.85 and 10.30 s against 10.27, 10.66, 10.25, 10.68 and 10.43 (the machine
1.85 of 2 cores busy against 1.77); ``hub run``, whose one process is the limit, 11.68,
12.48 and 12.56 s against 12.92, 12.45 and 12.86."""

SubmitBatch = Callable[[Sequence[RegistrationRequest]], Awaitable[list[Acceptance | HubError]]]
"""Intake's batch of registrations, for one partner: an answer for each, in order. Calls
under way together claim their rows in the order they were made
(``FileSubmission.submit``)."""


class _Row(msgspec.Struct, frozen=True):
    """One data row of the file: its first line, its reference, and what became of it so far.

    A msgspec struct, built twice for every row: the same immutability as a frozen
    dataclass, for a seventh of the cost (0.09 µs against 0.63; see
    ``hub.intake.ports.InboxEntry``)."""

    line: int
    reference: str
    outcome: RegistrationRequest | Acceptance | HubError
    """Parsed and not yet submitted, then intake's answer; or why the row was refused."""


class _Spool:
    """JSON objects, comma-separated, in a temporary file that stays in memory while small."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
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
        code, _ = code_of(error)
        self.rejected.add(
            {"baris": line, "noReferensi": reference, "kodeRespon": code, "alasan": reason(error)}
        )

    def body(self) -> Iterator[bytes]:
        """Counts first, then every rejected row, then every accepted row, each in line order."""
        rows = self.accepted.count + self.rejected.count
        head = orjson.dumps(
            coded_answer(
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


@asynccontextmanager
async def received(
    chunks: AsyncIterator[bytes], max_bytes: int
) -> AsyncIterator[tuple[IO[bytes], str]]:
    """The uploaded file, spooled (to disk when large) and rewound, with its SHA-256 hex.

    No row may reach intake before the signature over the whole file is checked,
    so the file is kept whole first; the spool is gone when the block ends.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as file:
        digest = hashlib.sha256()
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(
                    f"the file is larger than {max_bytes} bytes; split it into several files",
                    [FieldProblem("berkas", "too large")],
                )
            digest.update(chunk)
            file.write(chunk)
        file.seek(0)
        yield file, digest.hexdigest()


async def submit_rows(
    submit: SubmitBatch, file: IO[bytes], batch_rows: int, max_row_chars: int
) -> UploadAnswer:
    """Every row of ``file`` through ``submit``, ``batch_rows`` rows at a time, answered.

    Batches go to intake in file order, up to ``BATCHES_IN_INTAKE`` at once, and
    ``submit`` claims concurrent batches in the order it was called with them, so the
    file's first row with a reference claims it, on the first upload and on every
    re-upload (intake answers a later row with the same reference as it would answer a
    retry). The next batch is read and parsed while those before it are in intake: the
    parser gives the event loop a turn every ``PARSE_STEP`` rows, and stops once the
    next batch is whole and waits for a place.
    """
    answer = UploadAnswer()
    in_intake: deque[asyncio.Task[list[_Row]]] = deque()
    unavailable: TemporarilyUnavailable | None = None

    async def to_intake(batch: list[_Row]) -> None:
        nonlocal unavailable
        if len(in_intake) == BATCHES_IN_INTAKE:
            unavailable = await _settle(in_intake.popleft(), answer)
        if unavailable is None:
            in_intake.append(asyncio.create_task(_submit_batch(submit, batch)))

    batch: list[_Row] = []
    rows = read_rows(file, max_row_chars)
    try:
        for line, reference, parsed in rows:
            batch.append(_Row(line, reference, parsed))
            if len(batch) < batch_rows:
                if in_intake and len(batch) % PARSE_STEP == 0:
                    await asyncio.sleep(0)
                continue
            await to_intake(batch)
            batch = []
            if unavailable is not None:
                break
        if unavailable is None and batch:
            await to_intake(batch)
        while unavailable is None and in_intake:
            unavailable = await _settle(in_intake.popleft(), answer)
        # After an outage, the batch still in intake finishes (its rows published stay
        # accepted) before the upload is refused; its answers are not needed.
        await asyncio.gather(*in_intake, return_exceptions=True)
    except BaseException:
        for task in in_intake:
            task.cancel()
        await asyncio.gather(*in_intake, return_exceptions=True)
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


async def _submit_batch(submit: SubmitBatch, rows: list[_Row]) -> list[_Row]:
    """The rows with what became of them: parsed ones through intake, the others as they were."""
    parsed = [row.outcome for row in rows if isinstance(row.outcome, RegistrationRequest)]
    outcomes = iter(await submit(parsed) if parsed else [])
    return [
        _Row(row.line, row.reference, next(outcomes))
        if isinstance(row.outcome, RegistrationRequest)
        else row
        for row in rows
    ]


async def _settle(
    in_intake: "asyncio.Task[list[_Row]]", answer: UploadAnswer
) -> TemporarilyUnavailable | None:
    """Answer a batch's rows in line order; an outage is the whole upload's."""
    try:
        rows = await in_intake
    except TemporarilyUnavailable as exc:
        return exc
    for row in rows:
        if isinstance(row.outcome, TemporarilyUnavailable):
            return row.outcome
        if isinstance(row.outcome, Acceptance):
            answer.accept(row.line, row.reference, row.outcome.hub_reference)
        elif isinstance(row.outcome, HubError):
            answer.reject(row.line, row.reference, row.outcome)
    return None
