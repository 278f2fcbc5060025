"""SNAP BI's answer to every refusal: HTTP status, case code and ``responseMessage``.

``responseCode`` is the status, then the service code of the path, then the case code
(``4042512``); the table below is SNAP's, in one place.
"""

from dataclasses import dataclass

from adapters.bank.wire import MalformedBody
from hub import errors
from hub.channels.codes import CodeTable, Envelope


class ExternalIdReused(errors.ReferenceConflict):
    """The partner already used this X-EXTERNAL-ID on this business day."""


class InvalidToken(errors.Unauthenticated):
    """The B2B access token is not the hub's, has expired, or was issued to another bank.

    SNAP BI gives this its own case code (``401xx01`` "Invalid Token (B2B)"): a bank's
    client fetches a new token on it, and only on it.
    """


@dataclass(frozen=True, slots=True)
class SnapCase:
    """One of SNAP's answers: HTTP status, case code and ``responseMessage``."""

    status: int
    case: str
    message: str

    def __str__(self) -> str:
        """As SNAP's tables write it, the service code left open: ``404xx12``."""
        return f"{self.status}xx{self.case}"


SUCCESSFUL = SnapCase(200, "00", "Successful")
BAD_REQUEST = SnapCase(400, "00", "Bad Request")
INVALID_FIELD = SnapCase(400, "01", "Invalid Field Format")
MISSING_FIELD = SnapCase(400, "02", "Invalid Mandatory Field")
UNAUTHORIZED = SnapCase(401, "00", "Unauthorized")
GENERAL_ERROR = SnapCase(500, "00", "General Error")

_CASES = {
    MalformedBody: BAD_REQUEST,
    errors.PayloadTooLarge: SnapCase(413, "00", "Request Entity Too Large"),
    errors.AmountMismatch: SnapCase(404, "13", "Invalid Amount"),
    errors.AlreadyPaid: SnapCase(404, "14", "Paid Bill"),
    errors.InvalidRequest: INVALID_FIELD,
    InvalidToken: SnapCase(401, "01", "Invalid Token (B2B)"),
    errors.Unauthenticated: UNAUTHORIZED,
    errors.Forbidden: SnapCase(403, "01", "Feature Not Allowed"),
    errors.NotFound: SnapCase(404, "12", "Invalid Bill/Virtual Account [Not Found]"),
    ExternalIdReused: SnapCase(409, "00", "Conflict"),
    errors.ReferenceConflict: SnapCase(404, "18", "Inconsistent Request"),
    errors.RateLimited: SnapCase(429, "00", "Too Many Requests"),
    errors.TemporarilyUnavailable: SnapCase(504, "00", "Timeout"),
}
_ALL = [SUCCESSFUL, MISSING_FIELD, GENERAL_ERROR, *_CASES.values()]

CODES = CodeTable(
    _CASES,
    GENERAL_ERROR,
    status_by_code={case: case.status for case in _ALL},
    envelope=Envelope(
        "responseCode", "responseMessage", {case: case.message for case in _ALL}, SUCCESSFUL
    ),
    refined={INVALID_FIELD: [MISSING_FIELD]},
)
"""SNAP's case of each error (the most specific listed class wins); what it documents."""


def refusal(error: Exception) -> tuple[int, str, str]:
    """HTTP status, SNAP case code and responseMessage for an error.

    A format error names its field: the first missing one (``400xx02``), else the first
    malformed one (``400xx01``); with none named it is a plain Bad Request.
    """
    case = CODES.code(error)
    if case is INVALID_FIELD and isinstance(error, errors.InvalidRequest):
        problems = error.problems
        problem = next((p for p in problems if p.kind == "missing"), None) or (
            problems[0] if problems else None
        )
        if problem is None:
            case = BAD_REQUEST
        elif problem.kind == "missing":
            return 400, MISSING_FIELD.case, f"{MISSING_FIELD.message} {{{problem.field}}}"
        else:
            named = "" if problem.field == "body" else f" {{{problem.field}}}"
            return 400, INVALID_FIELD.case, INVALID_FIELD.message + named
    if case is UNAUTHORIZED and isinstance(error, errors.HubError):
        return case.status, case.case, f"{UNAUTHORIZED.message}. [{error.message}]"
    return case.status, case.case, case.message
