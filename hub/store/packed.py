"""A batch's column as one parameter, for the consumer's statements on PostgreSQL.

asyncpg sends a list as an array, element by element, and asks of each element first
whether it is itself an array: three checks against ``collections.abc`` for a string,
one for a UUID or an int, each a call into Python. For the consumer's batches of
thousands of events that was the larger part of sending them (measured, 4,000 elements,
client CPU an element: ``varchar[]`` 0.85 µs against 0.08 for the same values joined
into one text; ``integer[]`` and ``bigint[]`` 0.33-0.55 against 0.23; ``uuid[]``
0.50-0.84 against 0.25-0.33 for the UUIDs' bytes in one ``bytea``). PostgreSQL splits
them again for about what it spent decoding the array (0.17-0.38 µs an element either
way).

Only for values that cannot hold the separator: event types, NIKs, numbers. ``joined``
checks that, in one pass over the joined text.

The API's claim statement sends a batch of partner requests the same way (``packed_or``):
its short texts joined by ASCII's unit separator, which no field the channels accept can
hold (each is a slug, a reference of ``[A-Za-z0-9._:/-]``, a digest, a NIK), its event
ids as bytes and its times as microseconds since the epoch. A column that cannot be sent
so (a value holding the separator, a time without a zone or past 2255) is sent as an
array instead, in the same statement: each such column is ``COALESCE(array, packed)`` of
two parameters, one of them NULL.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID

SEPARATOR = ","
UNIT_SEPARATOR = "\x1f"
"""For texts that may hold a comma: a control character, which no partner's field holds."""

T = TypeVar("T")


def joined(values: Sequence[str | int], separator: str = SEPARATOR) -> str:
    """``values`` as one text, for ``string_to_array(…, separator)``; ValueError if a
    value holds the separator (it would come back as two)."""
    text = separator.join(map(str, values))
    if text.count(separator) != max(len(values) - 1, 0):
        raise ValueError(f"a value holds {separator!r}: it cannot be sent joined")
    if len(values) == 1 and not text:
        raise ValueError("one empty value cannot be sent joined: it reads as none")
    return text


def split_text(parameter: str, separator: str = SEPARATOR) -> str:
    """SQL for the ``text[]`` of a parameter sent ``joined``."""
    literal = f"'{separator}'" if separator.isprintable() else f"chr({ord(separator)})"
    return f"string_to_array(CAST(:{parameter} AS text), {literal})"


def uuid_bytes(ids: Iterable[UUID]) -> bytes:
    """The UUIDs' 16 bytes each, one after another, for ``uuid_at``."""
    return b"".join(i.bytes for i in ids)


def uuid_array(parameter: str) -> str:
    """SQL for the ``uuid[]`` of a parameter of ``uuid_bytes``, in its order."""
    return (
        f"ARRAY(SELECT {uuid_at(parameter, 'i')} FROM generate_series(1,"  # noqa: S608
        f" length(CAST(:{parameter} AS bytea)) / 16) AS i ORDER BY i)"
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EXACT = 2**53
"""Microseconds below this in size stay exact through PostgreSQL's ``float8 * interval``
(about 285 years either side of 1970)."""


def epoch_micros(moments: Sequence[datetime]) -> str:
    """``moments`` as microseconds since 1970 UTC, comma-joined, for ``timestamps``;
    ValueError for a moment without a zone, or too far from 1970 to stay exact."""
    texts: dict[datetime, str] = {}  # a batch's moments are often one and the same
    for moment in moments:
        if moment not in texts:
            if moment.utcoffset() is None:
                raise ValueError(f"{moment!r} has no zone: it cannot be sent as an instant")
            micros = (moment - _EPOCH) // _MICROSECOND
            if abs(micros) >= _EXACT:
                raise ValueError(f"{moment!r} is too far from 1970 to be sent exactly")
            texts[moment] = str(micros)
    return SEPARATOR.join([texts[moment] for moment in moments])


def timestamps(parameter: str) -> str:
    """SQL for the ``timestamptz[]`` of a parameter of ``epoch_micros``, in its order."""
    return (
        "ARRAY(SELECT TIMESTAMPTZ 'epoch' + CAST(t.micros AS bigint) * INTERVAL '1 microsecond'"  # noqa: S608
        f" FROM unnest({split_text(parameter)}) WITH ORDINALITY AS t(micros, i) ORDER BY t.i)"
    )


def packed_or(
    values: Sequence[T], pack: Callable[[Sequence[T]], str | bytes]
) -> tuple[Sequence[T] | None, str | bytes | None]:
    """(array, packed) parameters of a column sent as ``either``: one of them None."""
    try:
        return None, pack(values)
    except ValueError:
        return values, None


def either(parameter: str, array_type: str, packed: str) -> str:
    """SQL for a column of ``packed_or``: its array parameter ``parameter`` if it was
    sent, else ``packed`` (SQL reading the parameter ``parameter_packed``)."""
    return f"COALESCE(CAST(:{parameter} AS {array_type}[]), CAST({packed} AS {array_type}[]))"


def uuid_at(parameter: str, ordinal: str) -> str:
    """SQL for the UUID at (1-based) position ``ordinal`` of a parameter of ``uuid_bytes``."""
    return (
        f"CAST(encode(substr(CAST(:{parameter} AS bytea), CAST(16 * ({ordinal}) - 15 AS integer),"
        " 16), 'hex') AS uuid)"
    )
