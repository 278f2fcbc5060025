"""Response bodies of the partner API, as documented in the OpenAPI."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


class Accepted(BaseModel):
    reference: str
    hub_reference: str
    status: Literal["accepted"] = "accepted"
    kpj: str | None = None


class RequestStatus(BaseModel):
    """Where one of your requests stands."""

    reference: str
    hub_reference: str
    status: Literal["accepted", "recorded", "rejected"]
    reason: str | None = None
    agent_id: str | None = None
    """The agent who sent it (only in answers to an agency's agents)."""


class RegistrationStatus(RequestStatus):
    kpj: str | None = None


class ReversalStatus(BaseModel):
    hub_reference: str
    status: Literal["accepted", "recorded", "rejected"]
    reason: str | None = None


class PaymentStatus(RequestStatus):
    reversal: ReversalStatus | None = None


class InquiryResponse(BaseModel):
    nik: str
    kpj: str | None = None
    payment_code: str | None = None
    name: str
    programmes: list[str]
    member_status: Literal["active", "inactive", "pending"]
    paid_through: str | None = None
    months: int
    monthly_amount: int
    covers_from: date
    """First month the payment covers: the oldest month of arrears, if any."""
    covers_through: date
    arrears_months: int
    """Unpaid past months the payment settles first (at most ``max_arrears_months``)."""
    arrears_from: date | None = None
    arrears_through: date | None = None
    arrears_amount: int
    months_from: date
    """First of the months asked for, after the arrears."""
    amount_due: int
    """(arrears_months + months) x monthly_amount."""


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class DeliveryAttempt(BaseModel):
    attempt: int
    attempted_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None


class Notification(BaseModel):
    """A signed callback the hub sends to a partner, and how its delivery went."""

    notification_id: str
    event: str
    url: str
    status: Literal["pending", "delivered", "failed"]
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    give_up_at: datetime
    attempts: list[DeliveryAttempt]
