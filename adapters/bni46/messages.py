"""The requests of BNI's switch as typed messages: which fields each carries, and their shapes.

A decoded ISO 8583 message is a dict of field number -> text (``adapters.bni46.iso``);
these models name the fields in BNI's terms and refuse a message whose fields have the
wrong shape, which the switch hears as a format error (30).
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


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


class BillMessage(_Message):
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


class BillRequest(BillMessage):
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


class ReversalAdvice(BillMessage):
    """0400 (or its repeat 0401): take back the payment whose RRN is field 37."""

    processing_code: Annotated[Literal["180000"], Field(alias="3")]
    amount: Annotated[str, Field(alias="4", pattern=r"^[0-9]{12}$")]
    original: Annotated[str, Field(alias="90", pattern=r"^0200[0-9]{38}$")]

    @property
    def original_stan(self) -> str:
        return self.original[4:10]


ECHOED = ("3", "4", "7", "11", "12", "13", "32", "37", "41", "42", "48", "49", "70", "90")
"""Request fields a response repeats, so the switch matches it to its request."""
REVERSAL_MTIS = frozenset({"0400", "0401"})
