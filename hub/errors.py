"""What can go wrong with a partner's request, as types.

Each adapter maps these to its partner's own codes; the hub's JSON API maps them
to HTTP statuses. Control flow never depends on a message string.
"""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field of a request and why it was refused: absent, or present but invalid.

    Partner protocols tell the two apart (SNAP BI: "missing mandatory field" vs
    "invalid field format"), so the distinction travels with the problem.
    """

    field: str
    reason: str
    kind: Literal["missing", "invalid"] = "invalid"


class HubError(Exception):
    """Base of every error a partner can be told about."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(HubError):
    """The request cannot be accepted as it is; sending it again will not help."""

    code = "invalid_request"

    def __init__(self, message: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UnknownOperation(InvalidRequest):
    """A path under a channel's prefix that is none of its operations, or the wrong method."""

    code = "unknown_operation"


class AmountMismatch(InvalidRequest):
    """The partner collected an amount that is not what the member owes."""

    code = "amount_mismatch"

    def __init__(self, amount: int, amount_due: int, months: int) -> None:
        super().__init__(
            f"amount {amount} does not match the amount due {amount_due} for {months} month(s)",
            [FieldProblem("amount", f"must be {amount_due}")],
        )
        self.amount = amount
        self.amount_due = amount_due


class Unauthenticated(HubError):
    """Unknown partner, bad signature or a timestamp outside the replay window."""

    code = "unauthenticated"


class Forbidden(HubError):
    """The partner is known but may not use this channel or see this record."""

    code = "forbidden"


class NotFound(HubError):
    """No such member, bill or request (for this partner)."""

    code = "not_found"


class ReferenceConflict(HubError):
    """The partner reused a reference for a request with different content."""

    code = "reference_conflict"


class AlreadyPaid(InvalidRequest):
    """Paying would take the member's coverage further ahead than the schedule allows."""

    code = "already_paid"


class AlreadyReversed(ReferenceConflict):
    """The payment was already reversed (by another reversal request)."""

    code = "already_reversed"


class NotReversible(InvalidRequest):
    """The payment cannot be taken back: it was refused, or its business day was settled."""

    code = "not_reversible"


class TemporarilyUnavailable(HubError):
    """Something the hub depends on failed in a way a retry can cure: answer "try again".

    Every channel maps this to its partner's own retry code with a ``Retry-After``;
    the hub's API answers 503.
    """

    code = "temporarily_unavailable"

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BrokerUnavailable(TemporarilyUnavailable):
    """The event could not be made durable in time; the partner should retry."""


class StoreUnavailable(TemporarilyUnavailable):
    """The membership store could not be reached, or a transaction lost a lock race."""


class InDoubt(TemporarilyUnavailable):
    """The hub holds the request but never acknowledged it: its partner was told to try
    again (the broker did not acknowledge in time), or the answer is being sent. The broker
    may still have taken it, so it is neither unknown nor accepted yet: asked again in a
    moment, or sent again (the same reference), it is settled."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after_s=1)


class RateLimited(TemporarilyUnavailable):
    """The partner sent more requests of one operation than its rate limit allows."""

    code = "rate_limited"


class SlowRequest(TemporarilyUnavailable):
    """The client took longer than the read timeout to send its request; it was cut off."""

    code = "request_timeout"


class PayloadTooLarge(InvalidRequest):
    """The body is larger than the route's limit; it was not read further."""

    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the body is larger than {limit} bytes",
            [FieldProblem("body", f"at most {limit} bytes")],
        )
        self.limit = limit
