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
"""

from collections.abc import Iterable, Sequence
from uuid import UUID

SEPARATOR = ","


def joined(values: Sequence[str | int]) -> str:
    """``values`` as one text, for ``string_to_array(…, ',')``; ValueError if a value
    holds the separator (it would come back as two)."""
    text = SEPARATOR.join(map(str, values))
    if text.count(SEPARATOR) != max(len(values) - 1, 0):
        raise ValueError(f"a value holds {SEPARATOR!r}: it cannot be sent joined")
    if len(values) == 1 and not text:
        raise ValueError("one empty value cannot be sent joined: it reads as none")
    return text


def split_text(parameter: str) -> str:
    """SQL for the ``text[]`` of a parameter sent ``joined``."""
    return f"string_to_array(CAST(:{parameter} AS text), '{SEPARATOR}')"


def uuid_bytes(ids: Iterable[UUID]) -> bytes:
    """The UUIDs' 16 bytes each, one after another, for ``uuid_at``."""
    return b"".join(i.bytes for i in ids)


def uuid_at(parameter: str, ordinal: str) -> str:
    """SQL for the UUID at (1-based) position ``ordinal`` of a parameter of ``uuid_bytes``."""
    return (
        f"CAST(encode(substr(CAST(:{parameter} AS bytea), CAST(16 * ({ordinal}) - 15 AS integer),"
        " 16), 'hex') AS uuid)"
    )
