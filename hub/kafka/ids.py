"""The request ids of a raw member event, for log lines, without trusting its shape."""

import contextlib
import json
import uuid

from hub.intake.model import hub_reference_for
from hub.intake.ports import RequestKind

_KIND_OF: dict[str, RequestKind] = {
    "RegistrationSubmitted": "registration",
    "ContributionPaid": "payment",
    "PaymentReversed": "reversal",
}
FIELDS = ("partner_id", "channel", "reference", "hub_reference", "event_id")


def request_ids(value: bytes | None) -> dict[str, str | None]:
    """partner_id, channel, reference, hub_reference and event_id; None where the event
    does not say (a malformed one)."""
    ids: dict[str, str | None] = dict.fromkeys(FIELDS)
    try:
        raw = json.loads(value or b"")
    except ValueError:
        return ids
    if not isinstance(raw, dict):
        return ids
    for field, key in (
        ("partner_id", "partner_id"),
        ("channel", "channel"),
        ("reference", "partner_ref"),
        ("event_id", "event_id"),
    ):
        if raw.get(key) is not None:
            ids[field] = str(raw[key])
    kind = _KIND_OF.get(str(raw.get("event_type")))
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        if kind is not None and ids["event_id"] is not None:
            ids["hub_reference"] = hub_reference_for(kind, uuid.UUID(ids["event_id"]))
    return ids
