"""The hub's own partner API requests (for partners without a legacy protocol)."""

from datetime import UTC
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from schemas.events import Applicant
from schemas.fields import Months, PartnerReference, Rupiah
from schemas.nik import Nik


class PartnerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegistrationRequest(Applicant):
    """A BPU registration as a partner sends it: the applicant plus the partner's reference."""

    reference: PartnerReference


class InquiryRequest(PartnerRequest):
    """What would this member pay for ``months`` months?"""

    nik: Nik
    months: Months


class PaymentRequest(PartnerRequest):
    """A contribution the partner collected."""

    reference: PartnerReference
    nik: Nik
    months: Months
    amount: Rupiah
    # In UTC, so a retry that writes the same instant with another offset is the same request.
    paid_at: Annotated[AwareDatetime, AfterValidator(lambda t: t.astimezone(UTC))]
    outlet_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
