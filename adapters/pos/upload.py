"""An agent's upload: its rows submitted with bounded concurrency, its answer spooled to disk.

Each row is one registration on its own; a broker outage is the whole upload's
(the agent sends the same file again, and rows accepted before stay accepted).
"""

import asyncio
import hashlib
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO

import orjson

from adapters.pos.csv_rows import read_rows
from adapters.pos.wire import FileTooLarge, code_of, reason
from adapters.pos.wire import answer as coded_answer
from hub.errors import FieldProblem, HubError, TemporarilyUnavailable
from hub.intake.model import Acceptance
from hub.intake.requests import RegistrationRequest

SPOOL_IN_MEMORY = 1024 * 1024
"""Uploads and answers up to this size stay in memory; larger ones go to a temporary file."""

Submit = Callable[[RegistrationRequest], Awaitable[Acceptance]]
"""Intake's registration submission, for one partner."""


@dataclass(frozen=True, slots=True)
class _Row:
    """One data row of the file: its first line, its reference, and what became of it so far."""

    line: int
    reference: str
    outcome: asyncio.Task[Acceptance] | HubError


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
    submit: Submit, file: IO[bytes], concurrency: int, max_row_chars: int
) -> UploadAnswer:
    """Every row of ``file`` through ``submit``, at most ``concurrency`` in flight, answered."""
    answer = UploadAnswer()
    window: deque[_Row] = deque()
    latest: dict[str, asyncio.Task[Acceptance]] = {}
    unavailable: TemporarilyUnavailable | None = None
    rows = read_rows(file, max_row_chars)
    try:
        for line, reference, parsed in rows:
            if isinstance(parsed, HubError):
                window.append(_Row(line, reference, parsed))
            else:
                # A reference seen earlier in the file claims first: the file's first
                # row with it wins, on the first upload and on every re-upload.
                earlier = latest.get(parsed.reference)
                task = asyncio.create_task(_submit_row(submit, parsed, earlier))
                latest[parsed.reference] = task
                window.append(_Row(line, parsed.reference, task))
            while len(window) >= concurrency:
                unavailable = await _settle(window.popleft(), answer, latest) or unavailable
            if unavailable is not None:
                break
        while window:
            unavailable = await _settle(window.popleft(), answer, latest) or unavailable
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
    submit: Submit,
    registration: RegistrationRequest,
    earlier: "asyncio.Task[Acceptance] | None",
) -> Acceptance:
    if earlier is not None:
        await asyncio.wait([earlier])
    return await submit(registration)


async def _settle(
    row: _Row, answer: UploadAnswer, latest: dict[str, "asyncio.Task[Acceptance]"]
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
