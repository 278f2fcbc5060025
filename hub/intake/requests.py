"""The hub's own partner API requests (for partners without a legacy protocol)."""

from datetime import UTC, date
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.fields import Months, PartnerReference, PersonName, PhoneE164, Programme, Rupiah, Sex
from schemas.nik import Nik, parse_nik


class PartnerRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegistrationRequest(PartnerRequest):
    """A BPU registration as a partner sends it."""

    reference: PartnerReference
    nik: Nik
    full_name: PersonName
    birth_date: date
    sex: Sex
    phone: PhoneE164
    address: Annotated[str, Field(min_length=1, max_length=300)]
    occupation: Annotated[str, Field(min_length=1, max_length=100)]
    declared_income: Rupiah
    programmes: Annotated[list[Programme], Field(min_length=2, max_length=3)]
    outlet_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _agrees_with_nik(self) -> "RegistrationRequest":
        reason = parse_nik(self.nik).agrees_with(self.birth_date, self.sex)
        if reason is not None:
            raise ValueError(reason)
        if "JKK" not in self.programmes or "JKM" not in self.programmes:
            raise ValueError("programmes must include JKK and JKM")
        if len(set(self.programmes)) != len(self.programmes):
            raise ValueError("a programme is listed twice")
        return self


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
