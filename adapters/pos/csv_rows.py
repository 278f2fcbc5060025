"""An agent's registration file, read as a stream of CSV rows, each a registration or a refusal.

Memory does not grow with the file: it is read a line at a time, and a row is
never longer than ``upload_max_row_chars`` however its quotes are placed.
"""

import csv
import io
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import IO, Any

from pydantic import ValidationError

from adapters.pos.wire import REFERENCE_ECHO, TERMS, RegistrationWire, registration_request
from hub.errors import FieldProblem, HubError, InvalidRequest
from hub.intake.parsing import refusal
from hub.intake.requests import RegistrationRequest

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
    reference_at: int
    """Where ``noReferensi`` is: the header names every documented column."""


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
            f"the header row is not as documented: {TERMS.describe(problems)}", problems
        )
    return _Columns(delimiter, names, names.index("noReferensi"))


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
    reference = cells[at][:REFERENCE_ECHO] if at < len(cells) else ""
    if len(cells) != len(columns.names):
        return reference, InvalidRequest(
            f"{len(cells)} columns where the header names {len(columns.names)} "
            f"(separated by {columns.delimiter!r})"
        )
    if "\ufffd" in "".join(cells):  # one join, not a scan a cell
        return reference, InvalidRequest("the row is not valid UTF-8 text")
    try:
        return reference, registration_of_row(dict(zip(columns.names, cells, strict=True)))
    except InvalidRequest as exc:
        return reference, exc
