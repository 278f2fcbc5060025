"""Requests as intake takes them: the hub's own JSON API and every channel adapter build these."""

from datetime import UTC
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.events import Applicant
from schemas.fields import Months, OutletId, PartnerReference, Reason, Rupiah
from schemas.nik import Nik

PaymentCode = Annotated[str, Field(pattern=r"^[0-9]{6,20}$", description="A member's payment code")]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda t: t.astimezone(UTC))]
"""In UTC, so a retry that writes the same instant with another offset is the same request."""


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
    paid_at: UtcDatetime
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
