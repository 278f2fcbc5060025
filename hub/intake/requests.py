"""Requests as intake takes them: the hub's own JSON API and every channel adapter build these."""

import re
from datetime import UTC, datetime
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from schemas.events import Applicant
from schemas.fields import Months, OutletId, PartnerReference, Reason, Rupiah
from schemas.nik import Nik

PaymentCode = Annotated[str, Field(pattern=r"^[0-9]{6,20}$", description="A member's payment code")]
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
"""Transaction times outside these years are typing errors, not payments."""
_UNIX_TIME = re.compile(r"\s*-?[0-9]+(\.[0-9]*)?\s*")


def check_year(moment: datetime) -> datetime:
    """A pydantic after-validator: a transaction time in a plausible year (and convertible)."""
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


def written_as_a_time(value: object) -> object:
    """A pydantic before-validator: a time, not a number. Pydantic would read ``0.5`` or
    ``"1700000000"`` as seconds since 1970; a partner that sends one has sent a wrong field,
    and the payment must not be dated by it."""
    if isinstance(value, int | float) or (isinstance(value, str) and _UNIX_TIME.fullmatch(value)):
        raise ValueError("a time is ISO 8601 with an offset, e.g. 2026-03-10T09:55:00+08:00")
    return value


TransactionTime = Annotated[
    AwareDatetime,
    BeforeValidator(written_as_a_time),
    AfterValidator(check_year),
    AfterValidator(lambda t: t.astimezone(UTC)),
    Field(
        description="ISO 8601 with an offset, e.g. 2026-03-10T09:55:00+08:00; "
        f"a year from {EARLIEST_YEAR} to {LATEST_YEAR}"
    ),
]
"""When the partner transacted: ISO 8601 with an offset, in a plausible year. Held in UTC,
so a retry that writes the same instant with another offset is the same request."""


class PartnerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegistrationRequest(Applicant):
    """A BPU registration as a partner sends it: the applicant plus the partner's reference."""

    reference: PartnerReference


class _ByMember(PartnerRequest):
    """Names the member by NIK or, at retail counters, by payment code: exactly one."""

    nik: Nik | None = None
    payment_code: PaymentCode | None = None

    @model_validator(mode="after")
    def _one_way_to_name_the_member(self) -> Self:
        if (self.nik is None) == (self.payment_code is None):
            raise ValueError("give either nik or payment_code")
        return self


class InquiryRequest(_ByMember):
    """What would this member pay for ``months`` months?"""

    months: Months


class PaymentRequest(_ByMember):
    """A contribution the partner collected."""

    reference: PartnerReference
    months: Months
    amount: Rupiah
    paid_at: TransactionTime
    outlet_id: OutletId | None = None


class ReversalRequest(PartnerRequest):
    """The partner takes back a payment it sent (its own timeout fired, or a void)."""

    reference: Annotated[
        PartnerReference,
        Field(description="Your reference for this reversal; retries repeat it"),
    ]
    payment_reference: Annotated[
        PartnerReference, Field(description="The reference of the payment to reverse")
    ]
    reason: Reason = "reversed by partner"
