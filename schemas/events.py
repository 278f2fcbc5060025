"""Canonical member events and the versioned envelope they travel in on Kafka.

Every event of one member carries the member's NIK as its ``member_key``: the
Kafka key, so that a payment never overtakes the registration it pays for.
"""

from datetime import date
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from schemas.fields import (
    Address,
    Months,
    Occupation,
    OutletId,
    PartnerReference,
    PersonName,
    PhoneE164,
    Programme,
    Reason,
    Rupiah,
    Sex,
    Slug,
)
from schemas.nik import Nik, parse_nik

SCHEMA_VERSION: Literal[1] = 1


class CanonicalModel(BaseModel):
    """Frozen and closed: an event is a fact, and unknown fields are a contract break."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Applicant(CanonicalModel):
    """A person as a BPU registration form describes them; the NIK must agree with it."""

    nik: Nik
    full_name: PersonName
    birth_date: date
    sex: Sex
    phone: PhoneE164
    address: Address
    occupation: Occupation
    declared_income: Rupiah
    programmes: Annotated[tuple[Programme, ...], Field(max_length=3)]
    outlet_id: OutletId | None = None

    @model_validator(mode="after")
    def _nik_agrees_with_person(self) -> Self:
        reason = parse_nik(self.nik).agrees_with(self.birth_date, self.sex)
        if reason is not None:
            raise ValueError(reason)
        if "JKK" not in self.programmes or "JKM" not in self.programmes:
            raise ValueError("BPU membership always includes JKK and JKM")
        if len(set(self.programmes)) != len(self.programmes):
            raise ValueError("a programme is listed twice")
        return self


class RegistrationSubmitted(Applicant):
    """A partner collected a BPU registration form for one person."""

    event_type: Literal["RegistrationSubmitted"] = "RegistrationSubmitted"


class ContributionPaid(CanonicalModel):
    """A partner took a member's contribution for a number of months."""

    event_type: Literal["ContributionPaid"] = "ContributionPaid"
    nik: Nik
    months: Months
    amount: Rupiah
    paid_at: AwareDatetime
    outlet_id: OutletId | None = None


class PaymentReversed(CanonicalModel):
    """A partner took back a payment it sent earlier (its own timeout fired, or a void)."""

    event_type: Literal["PaymentReversed"] = "PaymentReversed"
    nik: Nik
    original_partner_ref: PartnerReference
    reason: Reason
    reversed_at: AwareDatetime


EventPayload = Annotated[
    RegistrationSubmitted | ContributionPaid | PaymentReversed,
    Field(discriminator="event_type"),
]
EventType = Literal["RegistrationSubmitted", "ContributionPaid", "PaymentReversed"]


class EventEnvelope(CanonicalModel):
    """What goes on the member-events topic: who sent what, when, about whom."""

    event_id: UUID
    event_type: EventType
    schema_version: Literal[1] = SCHEMA_VERSION
    channel: Slug
    partner_id: Slug
    partner_ref: PartnerReference
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    member_key: Nik
    payload: EventPayload
    agent_id: Slug | None = Field(
        None,
        description="The agent of an agency partner (Agen Perisai) who took the request. "
        "Optional, and left out of the JSON when absent: events of partners without agents, "
        "and every event written before the field existed, read and serialise as before.",
        exclude_if=lambda agent: agent is None,
    )

    @model_validator(mode="after")
    def _header_agrees_with_payload(self) -> "EventEnvelope":
        if self.event_type != self.payload.event_type:
            raise ValueError(
                f"event_type {self.event_type!r} but payload is {self.payload.event_type!r}"
            )
        if self.member_key != self.payload.nik:
            raise ValueError("member_key must be the payload's NIK")
        return self
