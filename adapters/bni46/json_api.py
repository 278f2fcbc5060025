"""BNI agents' registrations: signed JSON at ``/bni46/v1/registrations``, BNI's field names.

The agent application signs the way the hub's own API does (``adapters.bni46.signing``,
checked by the kit's ``HeaderVerifier``) and hears ``response_code`` values from the
same table as field 39 of the ISO channel.
"""

from typing import Generic, Literal, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from adapters.bni46.iso import ResponseCode
from adapters.bni46.signing import SCHEME, version
from hub.channels.base import HttpChannelAdapter, SignedOptions
from hub.channels.codes import CodeTable, Envelope
from hub.channels.fields import PartnerTerms
from hub.channels.routes import Operation
from hub.channels.signatures import Body
from hub.errors import (
    Forbidden,
    HubError,
    InvalidRequest,
    NotFound,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)
from hub.intake.model import Partner
from hub.intake.parsing import build, refusal
from hub.intake.requests import RegistrationRequest
from hub.signing import V1_USES, request_target

REGISTRATIONS = "/bni46/v1/registrations"

OptionsT = TypeVar("OptionsT", bound=SignedOptions)


class RegistrationForm(BaseModel):
    """A registration as a BNI agent's application sends it (BNI's field names)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trx_id: str
    nik: str
    customer_name: str
    birth_date: str
    gender: Literal["L", "P"]
    customer_phone: str
    customer_address: str
    occupation: str
    monthly_income: StrictInt
    programs: list[str]
    agent_id: str | None = None


_SEX = {"L": "M", "P": "F"}
"""Laki-laki / Perempuan, as Indonesian forms write it."""
_BNI_TERMS = PartnerTerms(
    {
        "reference": "trx_id",
        "full_name": "customer_name",
        "sex": "gender",
        "phone": "customer_phone",
        "address": "customer_address",
        "declared_income": "monthly_income",
        "programmes": "programs",
        "outlet_id": "agent_id",
    }
)
"""The hub's field names in BNI's words, so a refusal names the field the agent sent."""

JSON_CODES = CodeTable(
    {
        InvalidRequest: ResponseCode.FORMAT_ERROR,
        Unauthenticated: ResponseCode.SECURITY_VIOLATION,
        Forbidden: ResponseCode.SECURITY_VIOLATION,
        NotFound: ResponseCode.ORIGINAL_NOT_FOUND,
        ReferenceConflict: ResponseCode.DUPLICATE,
        TemporarilyUnavailable: ResponseCode.RETRY,
    },
    ResponseCode.SYSTEM_ERROR,
    envelope=Envelope(
        "response_code",
        "response_message",
        {
            ResponseCode.APPROVED: "approved",
            ResponseCode.FORMAT_ERROR: "format error",
            ResponseCode.SECURITY_VIOLATION: "security violation",
            ResponseCode.ORIGINAL_NOT_FOUND: "not found",
            ResponseCode.DUPLICATE: "duplicate",
            ResponseCode.RETRY: "retry",
            ResponseCode.SYSTEM_ERROR: "system error; the hub logged it",
        },
        success=ResponseCode.APPROVED,
    ),
    status_by_code={
        ResponseCode.APPROVED: 200,
        ResponseCode.FORMAT_ERROR: 400,
        ResponseCode.SECURITY_VIOLATION: 401,
        ResponseCode.ORIGINAL_NOT_FOUND: 404,
        ResponseCode.DUPLICATE: 409,
        ResponseCode.RETRY: 503,
        ResponseCode.SYSTEM_ERROR: 500,
    },
)
"""``response_code`` and HTTP status of the JSON API's refusals (field 39's table)."""


class AgentRegistrations(HttpChannelAdapter[OptionsT], Generic[OptionsT]):
    """BNI 46's HTTP side: the agents' JSON API, signed with the hub API's scheme.

    Its code table and signature scheme are this API's; ``Bni46Adapter`` adds the switch.
    """

    codes = JSON_CODES
    signature_scheme = SCHEME

    def operations(self) -> list[Operation]:
        return [
            Operation(
                REGISTRATIONS,
                self.submit_registration,
                "BNI 46: submit a BPU registration",
                RegistrationForm,
            ),
            Operation(
                REGISTRATIONS + "/{trx_id}",
                self.registration_status,
                "BNI 46: status of a registration",
                method="GET",
            ),
        ]

    async def submit_registration(self, request: Request) -> JSONResponse:
        body = await request.body()
        partner = self.authenticated(request, body)
        try:
            form = RegistrationForm.model_validate_json(body)
        except ValidationError as exc:
            raise refusal(exc) from None
        with _BNI_TERMS.spoken():
            fields = _BNI_TERMS.heard(form.model_dump())
            registration = build(RegistrationRequest, {**fields, "sex": _SEX[form.gender]})
            accepted = await self.intake.submit_registration(partner, registration)
        return _approved(
            trx_id=accepted.reference,
            hub_reference=accepted.hub_reference,
            status=accepted.status,
            kpj=accepted.kpj,
        )

    async def registration_status(self, trx_id: str, request: Request) -> JSONResponse:
        partner = self.authenticated(request, await request.body())
        claimed = await self.intake.status(partner, "registration", trx_id)
        return _approved(
            trx_id=claimed.reference,
            hub_reference=claimed.hub_reference,
            status=claimed.status,
            reason=claimed.reason,
            kpj=claimed.kpj,
        )

    def authenticated(self, request: Request, body: bytes) -> Partner:
        """The hub API's signature (v1, or v2 over this request's method, path and query)."""
        claimant = self.verifier.claimant(request.headers)
        signed_with = self._version(request, claimant.partner)
        target = request_target(request.url.path, request.url.query)
        self.verifier.check(claimant, request.method, target, Body.of(body))
        if signed_with == "1":
            V1_USES.labels(claimant.partner.partner_id).inc()
        return claimant.partner

    def preflight(self, request: Request) -> Partner:
        """What is checked before the body is read: all but the signature itself."""
        claimant = self.verifier.preflight(request.headers)
        self._version(request, claimant.partner)
        return claimant.partner

    def error_response(self, request: Request, error: Exception) -> Response:
        """A refusal of the JSON API: ``response_code`` from field 39's table, and its status."""
        code, status = JSON_CODES(error)
        if isinstance(error, HubError) and code is not ResponseCode.SYSTEM_ERROR:
            message = error.message
        else:
            message = "system error; the hub logged it"
        problems = error.problems if isinstance(error, InvalidRequest) else []
        # Retry-After is the kit's (HttpChannelAdapter.answer), for every channel.
        return JSONResponse(
            {
                "response_code": code.value,
                "response_message": message,
                "errors": [{"field": p.field, "reason": p.reason} for p in problems],
            },
            status_code=status,
        )

    def _version(self, request: Request, partner: Partner) -> str:
        allowed = self.context.partners[partner.partner_id].signature_v1_allowed
        return version(request.headers, allowed)


def _approved(**fields: object) -> JSONResponse:
    return JSONResponse(JSON_CODES.answer(JSON_CODES.success, **fields))
