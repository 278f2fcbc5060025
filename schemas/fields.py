"""Field types shared by canonical events and partner-facing requests."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, Strict

Sex = Literal["M", "F"]
Programme = Literal["JKK", "JKM", "JHT"]


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of 0-9 and nothing else.

    Not ``str.isdigit()`` alone: it also holds for superscripts such as ``²``, which
    ``int()`` refuses, and for Arabic-Indic or fullwidth digits, which ``int()`` reads but
    no partner's format, file or id writes."""
    return text.isascii() and text.isdigit()


def _no_bool_or_float(value: object) -> object:
    # A Literal of ints takes True for 1 and 1.0 for 1 (they compare equal): refused here.
    if isinstance(value, bool | float):
        raise ValueError("months is a whole number of months: 1, 3, 6 or 12")
    return value


Months = Annotated[Literal[1, 3, 6, 12], BeforeValidator(_no_bool_or_float)]
"""Months paid or asked for at once. Like ``Rupiah``, never coerced: ``true`` or ``1.0``
is refused, not read as 1."""

Rupiah = Annotated[int, Strict(), Field(ge=0, le=10_000_000_000)]
"""Money in whole rupiah. Strict: a float or a string is refused, not coerced."""

_NAME_ALLOWED = re.compile(r"[A-Z][A-Z .,'\-]*")
_SPACES = re.compile(r"\s+")


def _normalise_name(value: object) -> object:
    if not isinstance(value, str):
        return value
    return _SPACES.sub(" ", value).strip().upper()


_NAME_RULE = (
    "a KTP name holds only the unaccented letters A to Z, spaces and . , ' - "
    "and starts with a letter: write the name as the KTP prints it"
)


def _valid_name(value: str) -> str:
    """Refused names say which characters are out: an accented letter is a letter, not A to Z."""
    if not _NAME_ALLOWED.fullmatch(value):
        outside = dict.fromkeys(c for c in value if not re.fullmatch(r"[A-Z .,'\-]", c))
        if outside:
            listed = ", ".join(repr(c) for c in outside)
            raise ValueError(f"{listed} cannot be in a name: {_NAME_RULE}")
        raise ValueError(f"a name cannot start with {value[:1]!r}: {_NAME_RULE}")
    return value


PersonName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        json_schema_extra={"pattern": r"^\s*[A-Za-z][A-Za-z .,'\-\s]*$"},
    ),
    BeforeValidator(_normalise_name),
    AfterValidator(_valid_name),
]
"""A person's name, trimmed, single-spaced and upper-cased as KTP cards print it."""

_PHONE_NOISE = re.compile(r"[\s\-().]")
_INDONESIAN_SUBSCRIBER = re.compile(r"[1-9][0-9]{7,11}")


def _to_e164(value: object) -> object:
    if not isinstance(value, str):
        return value
    digits = _PHONE_NOISE.sub("", value)
    if digits.startswith("+62"):
        national = digits[3:]
    elif digits.startswith("62"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise ValueError("an Indonesian phone number starts with 0, 62 or +62")
    if not _INDONESIAN_SUBSCRIBER.fullmatch(national):
        raise ValueError("an Indonesian phone number has 8 to 12 digits after the 0 or +62")
    return "+62" + national


PhoneE164 = Annotated[
    str,
    BeforeValidator(_to_e164),
    Field(
        json_schema_extra={
            "pattern": r"^(\+62|62|0)[\s\-().]*[1-9]([\s\-().]*[0-9]){7,11}[\s\-().]*$",
            "examples": ["0812-3456-7890", "+6281234567890"],
        }
    ),
]
"""An Indonesian phone number normalised to E.164 (+62...)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A run of whitespace that is not already one space: a lone space between two words is
# left alone rather than replaced by itself, which made every space of an address a
# match (1.6 µs a field against 0.8).
_LINE_BREAKS = re.compile(r"[\t\n\r\v\f][ \t\n\r\v\f]*| [ \t\n\r\v\f]+")


def _one_line(value: object) -> object:
    """Line breaks and tabs (an address written over two lines) become single spaces."""
    return _LINE_BREAKS.sub(" ", value).strip() if isinstance(value, str) else value


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(
            "may hold printable characters only: no control characters such as NUL, tab or newline"
        )
    return value


Printable = AfterValidator(_printable)
"""Free text as a KTP or a receipt holds it: one line (breaks and tabs become spaces), and
no other control character (NUL above all, which PostgreSQL cannot store) is accepted at
the door, so nothing is acknowledged that the store would refuse later."""
OneLine = BeforeValidator(_one_line)
"""Placed after a field's length limits: a before-validator still runs first, and the
limits stay pydantic's own string checks ("String should have at most 300 characters",
in Rust). Placed before them, pydantic checks them afterwards in Python, 0.4 µs a field
more, and words it "Value should have at most 300 items after validation"."""

Address = Annotated[str, Field(min_length=1, max_length=300), OneLine, Printable]
Occupation = Annotated[str, Field(min_length=1, max_length=100), OneLine, Printable]
OutletId = Annotated[str, Field(min_length=1, max_length=64), OneLine, Printable]
"""The partner's own id of the counter, store or agent that took the request."""
Reason = Annotated[str, Field(min_length=1, max_length=200), OneLine, Printable]


PartnerReference = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$")
]
"""A partner's own reference for a request: its idempotency key."""

Slug = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
