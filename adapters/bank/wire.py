"""SNAP BI bodies and headers as the hub reads them: camelCase, money as value and currency.

Every refusal of a body names the bank's own field (``paidAmount``, ``customerNo``), even
when intake found the problem under the hub's name.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from adapters.bank.snap import parse_timestamp
from hub.channels.fields import PartnerTerms
from hub.errors import FieldProblem, InvalidRequest

TOKEN_PATH = "/snap/v1.0/access-token/b2b"  # noqa: S105 (a path, not a secret)
INQUIRY_PATH = "/snap/v1.0/transfer-va/inquiry"
PAYMENT_PATH = "/snap/v1.0/transfer-va/payment"
REGISTRATION_PATH = "/snap/v1.0/bpu/registration"

SERVICE_CODES = {TOKEN_PATH: "73", INQUIRY_PATH: "24", PAYMENT_PATH: "25", REGISTRATION_PATH: "90"}
"""SNAP service code per path; 90 is the hub's own (SNAP assigns nothing there)."""

M = TypeVar("M", bound=BaseModel)

REGISTRATION_TERMS = PartnerTerms(
    {
        "reference": "partnerReferenceNo",
        "full_name": "fullName",
        "birth_date": "birthDate",
        "phone": "phoneNo",
        "declared_income": "declaredIncome",
    }
)
"""Intake's names for a registration's fields in SNAP's words: to read the body and name
its fields in refusals (a name not listed is the same in both)."""
VA_TERMS = PartnerTerms(
    {
        "nik": "customerNo",
        "payment_code": "customerNo",
        "months": "additionalInfo.months",
        "reference": "paymentRequestId",
        "amount": "paidAmount",
        "paid_at": "trxDateTime",
    }
)
"""Intake's names for a VA inquiry's or payment's fields in SNAP's words, for refusals."""


class MalformedBody(InvalidRequest):
    """The body is not a JSON object at all (SNAP's "Bad Request")."""


class _Wire(BaseModel):
    """A SNAP body: camelCase names; fields the hub does not use are ignored, as SNAP allows."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel)


class Amount(_Wire):
    """SNAP money: ``{"value": "16800.00", "currency": "IDR"}``; rupiah have no cents."""

    value: Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]{0,15})\.00$")]
    currency: Literal["IDR"]

    @property
    def rupiah(self) -> int:
        return int(self.value[:-3])


class _StrictAmount(Amount):
    """SNAP money inside a body that refuses unknown fields: no unknown fields in it either."""

    model_config = ConfigDict(extra="forbid")


class TokenBody(_Wire):
    grant_type: Literal["client_credentials"]


class _BillOptions(_Wire):
    months: int = 1


class VirtualAccount(_Wire):
    partner_service_id: Annotated[str, StringConstraints(min_length=1, max_length=8)]
    customer_no: Annotated[str, StringConstraints(pattern=r"^ *[0-9]{1,20}$", max_length=20)]
    virtual_account_no: Annotated[str, StringConstraints(min_length=1, max_length=28)]
    additional_info: _BillOptions | None = None

    @property
    def months(self) -> int:
        return 1 if self.additional_info is None else self.additional_info.months


class InquiryBody(VirtualAccount):
    inquiry_request_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PaymentBody(VirtualAccount):
    payment_request_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    paid_amount: Amount
    trx_date_time: Annotated[str, StringConstraints(min_length=1, max_length=35)]
    virtual_account_name: Annotated[str, StringConstraints(max_length=255)] | None = None


_Text = Annotated[str, StringConstraints(min_length=1)]


class RegistrationBody(_Wire):
    """The hub's registration service, in SNAP's style; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    partner_reference_no: _Text
    nik: _Text
    full_name: _Text
    birth_date: _Text
    sex: _Text
    phone_no: _Text
    address: _Text
    occupation: _Text
    declared_income: _StrictAmount
    programmes: list[str]


def header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise InvalidRequest(f"{name} is required", [FieldProblem(name, "required", "missing")])
    return value


def snap_timestamp(value: str) -> datetime:
    sent_at = parse_timestamp(value)
    if sent_at is None:
        raise InvalidRequest(
            "X-TIMESTAMP is not ISO 8601 with an offset",
            [FieldProblem("X-TIMESTAMP", "not ISO 8601 with an offset")],
        )
    return sent_at


def parse_body(model: type[M], body: bytes) -> M:
    """A wire body, or the refusal SNAP expects: Bad Request, missing or invalid field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] in ("json_invalid", "model_type") and not e["loc"] for e in errors):
            raise MalformedBody("the body is not a JSON object") from None
        problems = [
            FieldProblem(
                ".".join(str(part) for part in e["loc"]) or "body",
                e["msg"],
                # An empty mandatory string is as absent as a missing one.
                "missing" if e["type"] == "missing" or e.get("input") == "" else "invalid",
            )
            for e in errors
        ]
        raise InvalidRequest("invalid SNAP body", problems) from None
