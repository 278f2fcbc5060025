"""A settlement file as the matcher sees it: one ``SettlementLine`` per line, streamed.

Each channel's own file format has a reader in its adapter (``adapters/<slug>/settlement.py``);
the hub finds it by the channel's slug. A CSV format is a ``CsvSettlementReader`` that
maps its columns to fields; a format of another kind (BNI's fixed-width records) reads its own.
A reader yields lines one at a time, so a file of a million lines is never held in memory.
"""

import codecs
import csv
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, BinaryIO, ClassVar, Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from schemas.fields import ascii_digits


class SettlementFileError(ValueError):
    """The file cannot be read as this format: which line, and what is wrong with it."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no


class SettlementLine(NamedTuple):
    """One transaction the partner settled, in the hub's terms.

    A named tuple: built a million times per file, it is the cheapest immutable record.

    ``reference`` is the partner's own reference of the payment (what it sent the hub);
    None when its file does not carry one, then it is matched by (member, amount, time).
    ``paid_at`` is aware (the partner's wall clock in its zone).
    """

    line_no: int
    reference: str | None
    amount: int
    nik: str | None = None
    payment_code: str | None = None
    months: int | None = None
    paid_at: datetime | None = None
    outlet: str | None = None


class SettlementReader(Protocol):
    """Reads one channel's daily settlement file."""

    format_name: str
    """How the format is named in summaries, e.g. ``indomaret-rekap-harian``."""

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        """The file's transaction lines, in file order; ``SettlementFileError`` if malformed."""
        ...


_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "ascii": "ASCII"}


def text_lines(stream: BinaryIO, encoding: str = "utf-8-sig") -> Iterator[str]:
    """Decoded lines of a binary stream, read in chunks (a BOM is dropped).

    A byte that is not ``encoding`` (a file saved as Windows-1252, say) is a
    ``SettlementFileError`` at its line. Bytes are decoded with ``surrogateescape`` and
    each line checked, so the line is exact: the codec's own error comes from a chunk
    read ahead.
    """
    name = _ENCODING_NAMES.get(encoding, encoding)
    lines = codecs.getreader(encoding)(stream, "surrogateescape")
    for line_no, line in enumerate(lines, start=1):
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as exc:  # an undecodable byte, kept as a surrogate
                byte = ord(line[exc.start]) - 0xDC00
                raise SettlementFileError(
                    line_no, f"byte 0x{byte:02x} is not {name} text"
                ) from None
        yield line


@contextmanager
def _csv_errors(reader: Any) -> Iterator[None]:
    """``csv``'s own errors (a field over its size limit, say) as ``SettlementFileError`` at
    their line. Around a whole loop, not each row: the large files pay nothing per row."""
    try:
        yield
    except csv.Error as exc:
        raise SettlementFileError(reader.line_num, f"not CSV: {exc}") from None


def _header(reader: Any, required: Iterable[str]) -> list[str]:
    """The header row's column names, once every ``required`` one is among them."""
    with _csv_errors(reader):
        header = next(reader, None)
    if header is None:
        raise SettlementFileError(1, "the file is empty; expected a header row")
    names = [h.strip() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise SettlementFileError(1, f"header lacks column(s) {', '.join(missing)}")
    return names


def csv_table(
    stream: BinaryIO, delimiter: str, required: Iterable[str]
) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The column positions by header name, and (line number, row) of each data row.

    Positional rows, for the large files: no dict per row. Blank rows are skipped.
    """
    reader = csv.reader(text_lines(stream), delimiter=delimiter)
    names = _header(reader, required)
    width = len(names)

    def rows() -> Iterator[tuple[int, list[str]]]:
        with _csv_errors(reader):
            for row in reader:
                if len(row) != width:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    raise SettlementFileError(
                        reader.line_num, f"{len(row)} fields where the header names {width}"
                    )
                yield reader.line_num, row

    return {name: i for i, name in enumerate(names)}, rows()


def csv_rows(
    stream: BinaryIO, delimiter: str, required: Iterable[str], short_rows: bool = False
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by header name) of a CSV with a header row naming its columns.

    ``short_rows``: a row with fewer fields (a total line) gets empty ones at the end.
    """
    reader = csv.reader(text_lines(stream), delimiter=delimiter)
    names = _header(reader, required)
    width = len(names)
    with _csv_errors(reader):
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if short_rows and len(row) < width:
                row += [""] * (width - len(row))
            if len(row) != width:
                raise SettlementFileError(
                    reader.line_num, f"{len(row)} fields where the header names {width}"
                )
            yield reader.line_num, dict(zip(names, row, strict=True))


def whole_rupiah(line_no: int, text: str, name: str) -> int:
    """A whole-rupiah amount in ASCII digits; ``1.500`` style thousands separators are not
    accepted."""
    value = text.strip()
    if not ascii_digits(value):
        raise SettlementFileError(line_no, f"{name} {text!r} is not a whole number of rupiah")
    return int(value)


def optional(text: str | None) -> str | None:
    value = (text or "").strip()
    return value or None


def local_time(line_no: int, text: str, fmt: str, timezone: ZoneInfo, name: str) -> datetime:
    """A wall-clock time in the partner's zone, written as ``fmt``."""
    try:
        return datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone)
    except ValueError:
        raise SettlementFileError(line_no, f"{name} {text!r} is not a time like {fmt}") from None


def aware_iso_time(line_no: int, text: str, timezone: ZoneInfo, name: str) -> datetime:
    """An ISO 8601 time; one without an offset is on the partner's wall clock (``timezone``)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SettlementFileError(line_no, f"{name} is ISO 8601 with offset") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone)


Field = Literal["reference", "amount", "paid_at", "nik", "payment_code", "months", "outlet"]
"""A field of ``SettlementLine`` that a column of a settlement CSV gives."""


class CsvSettlementReader:
    """A settlement file that is a CSV with a header row naming its columns.

    A channel names its format, its delimiter and its columns in file order, each with
    the ``SettlementLine`` field it gives (None: a column a hook reads, or none does); the
    header check, the loop and the parsing of each field are here. ``paid_at`` is ISO
    8601, or with ``time_format`` a wall-clock time in the partner's zone. A format with
    a quirk overrides one hook: ``settled`` (a row that is not settled cash is skipped),
    ``amount`` or ``member``.
    """

    format_name: str
    delimiter: ClassVar[str] = ","
    columns: ClassVar[Mapping[str, Field | None]]
    time_format: ClassVar[str | None] = None
    column: ClassVar[Mapping[Field, str]]
    """The column that gives each field the file has (from ``columns``)."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.column = {field: name for name, field in cls.columns.items() if field is not None}

    def read(self, stream: BinaryIO, timezone: ZoneInfo) -> Iterator[SettlementLine]:
        column = self.column
        for line_no, row in csv_rows(stream, self.delimiter, self.columns):
            if not self.settled(line_no, row):
                continue
            amount = self.amount(line_no, row[column["amount"]], column["amount"])
            nik, payment_code = self.member(row)
            months = None
            if "months" in column:
                months = whole_rupiah(line_no, row[column["months"]], column["months"])
            paid_at = self.paid_at(line_no, row[column["paid_at"]], column["paid_at"], timezone)
            reference, outlet = optional(row[column["reference"]]), _cell(row, column, "outlet")
            yield SettlementLine(
                line_no, reference, amount, nik, payment_code, months, paid_at, outlet
            )

    def settled(self, line_no: int, row: Mapping[str, str]) -> bool:
        """Whether a row is settled cash (read), or not (skipped); every row, unless said."""
        return True

    def amount(self, line_no: int, text: str, name: str) -> int:
        """A row's amount in rupiah: written as a whole number, unless said otherwise."""
        return whole_rupiah(line_no, text, name)

    def member(self, row: Mapping[str, str]) -> tuple[str | None, str | None]:
        """A row's member: (NIK, payment code), from their columns unless said otherwise."""
        return _cell(row, self.column, "nik"), _cell(row, self.column, "payment_code")

    def paid_at(self, line_no: int, text: str, name: str, timezone: ZoneInfo) -> datetime:
        if self.time_format is None:
            return aware_iso_time(line_no, text, timezone, name)
        return local_time(line_no, text, self.time_format, timezone, name)


def _cell(row: Mapping[str, str], column: Mapping[Field, str], field: Field) -> str | None:
    name = column.get(field)
    return None if name is None else optional(row[name])
