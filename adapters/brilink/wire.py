"""BRI's wire for BRILink: messages, response codes and field names.

The Python field names of every message are intake's own and BRI's names are their
aliases (the only names accepted on the wire), so a message dumps straight into an
intake request, and the same aliases say a refusal in BRI's words (``TERMS``).
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from hub import errors
from hub.channels.codes import CodeTable, Envelope
from hub.channels.fields import PartnerTerms
from hub.errors import FieldProblem, InvalidRequest, NotFound

PREFIX = "/brilink/v1"


class ResponseCode(StrEnum):
    """BRILink response codes; ISO 8583 meanings where the host-to-host world has one."""

    APPROVED = "00"
    NOT_REVERSIBLE = "12"
    INVALID_AMOUNT = "13"
    BILL_NOT_FOUND = "14"
    TRANSACTION_NOT_FOUND = "25"
    INVALID_FORMAT = "30"
    MISSING_FIELD = "31"
    UNAUTHORISED = "63"
    BILL_ALREADY_PAID = "88"
    TEMPORARILY_UNAVAILABLE = "91"
    DUPLICATE_JOURNAL_SEQ = "94"
    ALREADY_REVERSED = "95"
    GENERAL_ERROR = "96"


DESCRIPTION: Mapping[ResponseCode, str] = {
    ResponseCode.APPROVED: "Approved",
    ResponseCode.NOT_REVERSIBLE: "Transaction cannot be reversed",
    ResponseCode.INVALID_AMOUNT: "Invalid amount",
    ResponseCode.BILL_NOT_FOUND: "Bill not found",
    ResponseCode.TRANSACTION_NOT_FOUND: "Original transaction not found",
    ResponseCode.INVALID_FORMAT: "Invalid field format",
    ResponseCode.MISSING_FIELD: "Missing mandatory field",
    ResponseCode.UNAUTHORISED: "Unauthorized",
    ResponseCode.BILL_ALREADY_PAID: "Bill already paid",
    ResponseCode.TEMPORARILY_UNAVAILABLE: "Temporarily unavailable, please retry",
    ResponseCode.DUPLICATE_JOURNAL_SEQ: "Duplicate journalSeq",
    ResponseCode.ALREADY_REVERSED: "Transaction already reversed",
    ResponseCode.GENERAL_ERROR: "General error",
}

HTTP_STATUS: Mapping[ResponseCode, int] = {
    ResponseCode.APPROVED: 200,
    ResponseCode.NOT_REVERSIBLE: 400,
    ResponseCode.INVALID_AMOUNT: 400,
    ResponseCode.BILL_NOT_FOUND: 404,
    ResponseCode.TRANSACTION_NOT_FOUND: 404,
    ResponseCode.INVALID_FORMAT: 400,
    ResponseCode.MISSING_FIELD: 400,
    ResponseCode.UNAUTHORISED: 401,
    ResponseCode.BILL_ALREADY_PAID: 400,
    ResponseCode.TEMPORARILY_UNAVAILABLE: 503,
    ResponseCode.DUPLICATE_JOURNAL_SEQ: 409,
    ResponseCode.ALREADY_REVERSED: 409,
    ResponseCode.GENERAL_ERROR: 500,
}


class TransactionNotFound(NotFound):
    """The journalSeq a reversal or a status call names was never accepted from this agent.

    Told apart from an unknown bill: after its own timeout, an agent reads "25" on a
    reversal as "nothing was taken, nothing to undo".
    """


class _Wire(BaseModel):
    """A BRILink message: BRI's names on the wire (aliases, the only names accepted).

    The Python field names are intake's own, so a message dumps straight into an intake
    request and a refusal intake finds can be told back in BRI's names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


JournalSeq = Annotated[StrictStr, Field(alias="journalSeq", description="The agent's reference")]


class RegistrationMessage(_Wire):
    """``POST /brilink/v1/registration``: a BPU registration form an agent collected."""

    reference: JournalSeq
    nik: StrictStr
    full_name: StrictStr = Field(alias="fullName")
    birth_date: StrictStr = Field(alias="birthDate", description="YYYY-MM-DD")
    sex: StrictStr = Field(alias="gender", description="M or F")
    phone: StrictStr = Field(alias="phoneNo")
    address: StrictStr
    occupation: StrictStr
    declared_income: StrictInt = Field(alias="declaredIncome", description="Whole rupiah")
    programmes: list[StrictStr] = Field(alias="programs", description="JKK, JKM and maybe JHT")
    outlet_id: StrictStr | None = Field(None, alias="agentId")


class InquiryMessage(_Wire):
    """``POST /brilink/v1/inquiry``: what a member owes, by NIK or BRIVA-style number."""

    nik: StrictStr | None = None
    payment_code: StrictStr | None = Field(None, alias="brivaNo", description="8866 + KPJ")
    months: StrictInt


class PaymentMessage(_Wire):
    """``POST /brilink/v1/payment``: a contribution an agent took in cash."""

    reference: JournalSeq
    nik: StrictStr | None = None
    payment_code: StrictStr | None = Field(None, alias="brivaNo", description="8866 + KPJ")
    months: StrictInt
    amount: StrictInt
    paid_at: StrictStr = Field(alias="transactionDateTime", description="ISO 8601 with offset")
    outlet_id: StrictStr | None = Field(None, alias="agentId")


class ReversalMessage(_Wire):
    """``POST /brilink/v1/reversal``: take back a payment (the agent's timeout fired, or a void)."""

    reference: JournalSeq
    payment_reference: StrictStr = Field(alias="origJournalSeq")
    reason: StrictStr | None = Field(None, alias="remark")


class StatusMessage(_Wire):
    """``POST /brilink/v1/{payment,registration}/status``: what became of a journalSeq."""

    reference: JournalSeq


TERMS = PartnerTerms(
    {
        name: field.alias
        for message in (RegistrationMessage, InquiryMessage, PaymentMessage, ReversalMessage)
        for name, field in message.model_fields.items()
        if field.alias is not None
    }
)
"""Intake's field names -> BRI's, for refusals that intake itself finds."""

CODES = CodeTable(
    {
        TransactionNotFound: ResponseCode.TRANSACTION_NOT_FOUND,
        errors.NotFound: ResponseCode.BILL_NOT_FOUND,
        errors.AlreadyReversed: ResponseCode.ALREADY_REVERSED,
        errors.ReferenceConflict: ResponseCode.DUPLICATE_JOURNAL_SEQ,
        errors.AmountMismatch: ResponseCode.INVALID_AMOUNT,
        errors.AlreadyPaid: ResponseCode.BILL_ALREADY_PAID,
        errors.NotReversible: ResponseCode.NOT_REVERSIBLE,
        errors.InvalidRequest: ResponseCode.INVALID_FORMAT,
        errors.Unauthenticated: ResponseCode.UNAUTHORISED,
        errors.Forbidden: ResponseCode.UNAUTHORISED,
        errors.TemporarilyUnavailable: ResponseCode.TEMPORARILY_UNAVAILABLE,
    },
    otherwise=ResponseCode.GENERAL_ERROR,
    envelope=Envelope("responseCode", "responseDescription", DESCRIPTION, ResponseCode.APPROVED),
    status_by_code=HTTP_STATUS,
)
"""BRI's code for each refusal, along the error's class hierarchy, and its HTTP status."""


def response_code(error: Exception) -> ResponseCode:
    """BRI's code for an error; a refusal for a missing field has its own (31)."""
    code = CODES.code(error)
    missing = isinstance(error, InvalidRequest) and any(p.kind == "missing" for p in error.problems)
    return ResponseCode.MISSING_FIELD if missing and code == ResponseCode.INVALID_FORMAT else code


def one_member(message: InquiryMessage | PaymentMessage) -> None:
    """A member is named by NIK or by brivaNo, and BRI tells a missing field apart."""
    if message.nik is None and message.payment_code is None:
        raise InvalidRequest(
            "nik or brivaNo is required",
            [FieldProblem("nik", "give nik or brivaNo", "missing")],
        )
    if message.nik is not None and message.payment_code is not None:
        raise InvalidRequest(
            "give either nik or brivaNo, not both",
            [FieldProblem("brivaNo", "give either nik or brivaNo, not both")],
        )
