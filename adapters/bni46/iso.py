"""Agen BNI 46's ISO 8583 dialect: field spec, framing, response codes and field 48 layouts.

Pure protocol: no sockets and no intake. ``adapters.bni46.handlers`` answers it;
docs/channels/bni46.md is the partner-facing description of the same choices.

Messages are ISO 8583:1987 in ASCII (hex-string bitmaps), each sent as one frame:
a 2-byte big-endian length followed by that many bytes of message.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import iso8583
import iso8583.specs

_FIXED = {"data_enc": "ascii", "len_enc": "ascii", "len_type": 0}
_LLVAR = {**_FIXED, "len_type": 2}
"""A variable length with a two-digit ASCII length prefix; ``_LLLVAR``, three digits."""
_LLLVAR = {**_FIXED, "len_type": 3}

USED_FIELDS: dict[str, dict[str, Any]] = {
    "h": {**_FIXED, "max_len": 0, "desc": "Message header (none)"},
    "t": {**_FIXED, "max_len": 4, "desc": "Message type indicator (MTI)"},
    "p": {**_FIXED, "max_len": 16, "desc": "Primary bitmap, 16 hex characters"},
    "1": {**_FIXED, "max_len": 16, "desc": "Secondary bitmap (when a field 65-128 is present)"},
    "3": {**_FIXED, "max_len": 6, "desc": "Processing code"},
    "4": {**_FIXED, "max_len": 12, "desc": "Amount, transaction (rupiah, 2 implied decimals)"},
    "7": {**_FIXED, "max_len": 10, "desc": "Transmission date and time, MMDDhhmmss UTC"},
    "11": {**_FIXED, "max_len": 6, "desc": "System trace audit number (STAN)"},
    "12": {**_FIXED, "max_len": 6, "desc": "Time, local transaction, hhmmss"},
    "13": {**_FIXED, "max_len": 4, "desc": "Date, local transaction, MMDD"},
    "32": {**_LLVAR, "max_len": 11, "desc": "Acquiring institution id (LLVAR)"},
    "37": {**_FIXED, "max_len": 12, "desc": "Retrieval reference number (RRN)"},
    "39": {**_FIXED, "max_len": 2, "desc": "Response code"},
    "41": {**_FIXED, "max_len": 8, "desc": "Terminal id"},
    "42": {**_FIXED, "max_len": 15, "desc": "Card acceptor (agent) id"},
    "48": {**_LLLVAR, "max_len": 999, "desc": "Additional data: the bill (LLLVAR)"},
    "49": {**_FIXED, "max_len": 3, "desc": "Currency code, transaction (360 = IDR)"},
    "70": {**_FIXED, "max_len": 3, "desc": "Network management information code"},
    "90": {**_FIXED, "max_len": 42, "desc": "Original data elements"},
}
"""Every field the BNI 46 channel reads or writes, as docs/channels/bni46.md lists them."""

SPEC: dict[str, dict[str, Any]] = {**iso8583.specs.default_ascii, **USED_FIELDS}
"""The codec's spec. Fields the channel does not use keep their ISO 8583:1987 ASCII layout,
so a switch that adds one (say field 33, forwarding institution) is read and the field ignored
instead of the whole message being refused."""

REQUEST_MTIS = {"0200": "0210", "0400": "0410", "0401": "0410", "0800": "0810"}
"""Request MTI -> response MTI. 0401 is the repeat of a 0400 whose answer did not arrive."""

INQUIRY = "380000"
PAYMENT = "180000"
NETWORK_CODES = {"001": "sign-on", "002": "sign-off", "301": "echo test"}
RUPIAH = "360"
FRAME_PREFIX_BYTES = 2


class ResponseCode(StrEnum):
    """Field 39, also ``response_code`` of the JSON registration API."""

    APPROVED = "00"
    NOT_REVERSIBLE = "12"
    WRONG_AMOUNT = "13"
    UNKNOWN_BILL = "14"
    ORIGINAL_NOT_FOUND = "25"
    FORMAT_ERROR = "30"
    SECURITY_VIOLATION = "63"
    ALREADY_PAID = "88"
    RETRY = "91"
    DUPLICATE = "94"
    SYSTEM_ERROR = "96"


class MalformedMessage(ValueError):
    """A frame that is not a message of this spec.

    ``mti`` is what the first four bytes said (None if they are not ASCII), ``fields``
    what could be read before the fault, so a known request still gets an answer
    carrying its STAN and RRN.
    """

    def __init__(self, reason: str, mti: str | None, fields: dict[str, str]) -> None:
        super().__init__(reason)
        self.mti = mti
        self.fields = fields


def decode(message: bytes) -> dict[str, str]:
    """The fields of one message (``"t"`` is the MTI), or ``MalformedMessage``."""
    try:
        fields, _ = iso8583.decode(message, SPEC)
    except iso8583.DecodeError as exc:
        partial = {k: v for k, v in exc.doc_dec.items() if k != exc.field and k not in _BITMAPS}
        raise MalformedMessage(str(exc), _mti_of(message), partial) from None
    except KeyError as exc:
        # pyiso8583 looks up every field the bitmaps announce; a tertiary bitmap (field 65)
        # announces fields 129-192, which no spec here defines.
        raise MalformedMessage(
            f"field {exc.args[0]} is not defined", _mti_of(message), {}
        ) from None
    return dict(fields)


def encode(fields: Mapping[str, str]) -> bytes:
    """One message; raises ``iso8583.EncodeError`` if a value does not fit its field."""
    raw, _ = iso8583.encode(dict(fields), SPEC)
    return bytes(raw)


def frame(message: bytes) -> bytes:
    """The message as sent on the wire: 2-byte big-endian length, then the message."""
    return len(message).to_bytes(FRAME_PREFIX_BYTES, "big") + message


_BITMAPS = frozenset({"h", "p", "1"})


def _mti_of(message: bytes) -> str | None:
    head = message[:4]
    return head.decode("ascii") if len(head) == 4 and head.isascii() else None


def amount_field(rupiah: int) -> str:
    """Field 4: whole rupiah written with the 2 implied decimals ISO 4217 gives IDR."""
    return f"{rupiah * 100:012d}"


def fixed(value: str, width: int) -> str:
    """An alphanumeric subfield of field 48: left-justified, space-padded, cut to width."""
    return value[:width].ljust(width)


INQUIRY_ANSWER_LAYOUT: tuple[tuple[str, int], ...] = (
    ("member id (as sent)", 20),
    ("months", 2),
    ("KPJ (blank until the member is recorded)", 20),
    ("masked name", 30),
    ("programmes", 11),
    ("member status", 8),
    ("covers from, YYYYMM", 6),
    ("covers through, YYYYMM", 6),
    ("monthly amount, 2 implied decimals", 12),
    ("arrears months (settled first, included in covers from..through)", 2),
    ("arrears through, YYYYMM (blank without arrears)", 6),
)
"""Field 48 of an approved inquiry (0210 with processing code 380000): 123 characters."""

PAYMENT_ANSWER_LAYOUT: tuple[tuple[str, int], ...] = (
    ("member id (as sent)", 20),
    ("months", 2),
    ("hub reference (receipt number)", 20),
)
"""Field 48 of an approved payment (0210 with processing code 180000): 42 characters."""
