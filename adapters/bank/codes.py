"""SNAP BI's answer to every refusal: HTTP status, case code and ``responseMessage``.

``responseCode`` is the status, then the service code of the path, then the case code
(``4042512``); the table below is SNAP's, in one place.
"""

from adapters.bank.wire import MalformedBody
from hub.errors import (
    AlreadyPaid,
    AmountMismatch,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ReferenceConflict,
    TemporarilyUnavailable,
    Unauthenticated,
)


class ExternalIdReused(ReferenceConflict):
    """The partner already used this X-EXTERNAL-ID on this business day."""


class InvalidToken(Unauthenticated):
    """The B2B access token is not the hub's, has expired, or was issued to another bank.

    SNAP BI gives this its own case code (``401xx01`` "Invalid Token (B2B)"): a bank's
    client fetches a new token on it, and only on it.
    """


def refusal(error: Exception) -> tuple[int, str, str]:
    """HTTP status, SNAP case code and responseMessage for an error."""
    if isinstance(error, MalformedBody):
        return 400, "00", "Bad Request"
    if isinstance(error, PayloadTooLarge):
        return 413, "00", "Request Entity Too Large"
    if isinstance(error, AmountMismatch):
        return 404, "13", "Invalid Amount"
    if isinstance(error, AlreadyPaid):
        return 404, "14", "Paid Bill"
    if isinstance(error, InvalidRequest):
        problems = error.problems
        problem = next((p for p in problems if p.kind == "missing"), None) or (
            problems[0] if problems else None
        )
        if problem is None:
            return 400, "00", "Bad Request"
        name = problem.field
        if problem.kind == "missing":
            return 400, "02", f"Invalid Mandatory Field {{{name}}}"
        return 400, "01", "Invalid Field Format" + ("" if name == "body" else f" {{{name}}}")
    if isinstance(error, InvalidToken):
        return 401, "01", "Invalid Token (B2B)"
    if isinstance(error, Unauthenticated):
        return 401, "00", f"Unauthorized. [{error.message}]"
    if isinstance(error, Forbidden):
        return 403, "01", "Feature Not Allowed"
    if isinstance(error, NotFound):
        return 404, "12", "Invalid Bill/Virtual Account [Not Found]"
    if isinstance(error, ExternalIdReused):
        return 409, "00", "Conflict"
    if isinstance(error, ReferenceConflict):
        return 404, "18", "Inconsistent Request"
    if isinstance(error, RateLimited):
        return 429, "00", "Too Many Requests"
    if isinstance(error, TemporarilyUnavailable):
        return 504, "00", "Timeout"
    return 500, "00", "General Error"
