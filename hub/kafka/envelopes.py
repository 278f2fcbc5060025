"""Reading member events off the topic: the hub's own envelopes fast, anything else in full.

Every envelope the hub publishes was built from a request that passed the whole
contract (``schemas.events``: NIK against birth date and sex, JKK and JKM present, names
as the KTP prints them) at intake, and travels under the signed-off contract version.
Running those business checks again for each event cost the consumer more than the
store did, so an envelope that is exactly the shape the hub writes is decoded by
msgspec against a structural mirror of the contract (types, lengths, closed field sets,
the version, the NIK's digits, the KTP form of names and the E.164 form of phones, the
key agreeing with the payload) and turned into the canonical models without validating
them again. Anything else goes through the full pydantic contract: an envelope of another
shape (pydantic may still accept it, normalising it as intake would), and every record
an operator replayed from the dead-letter topic, which the hub did not build as it
stands. What the full contract refuses is a dead letter, with pydantic's error.
"""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta, Struct
from msgspec.structs import asdict
from pydantic import BaseModel

from schemas.events import (
    SCHEMA_VERSION,
    ContributionPaid,
    EventEnvelope,
    PaymentReversed,
    RegistrationSubmitted,
)
from schemas.trusted import trusted

REPLAYED_HEADER = "replayed-from"
"""Set on records an operator replays from the dead-letter topic (``hub.ops.actions``)."""

# Types, lengths and closed sets only (checked in C); the patterns and rules of the
# contract are intake's, and cost more here than the store's work. The NIK keeps its
# pattern: it is the member's key in the store.
_Slug = Annotated[str, Meta(min_length=1, max_length=32)]
_Reference = Annotated[str, Meta(min_length=1, max_length=64)]
_Nik = Annotated[str, Meta(pattern=r"^[0-9]{16}\Z")]
_Aware = Annotated[datetime, Meta(tz=True)]
_Rupiah = Annotated[int, Meta(ge=0, le=10_000_000_000)]
_Name = Annotated[str, Meta(max_length=100, pattern=r"^[A-Z][A-Z .,'\-]*\Z")]
_Phone = Annotated[str, Meta(pattern=r"^\+62[1-9][0-9]{7,11}\Z")]
_Address = Annotated[str, Meta(min_length=1, max_length=300)]
_Occupation = Annotated[str, Meta(min_length=1, max_length=100)]
_Outlet = Annotated[str, Meta(min_length=1, max_length=64)]
_Reason = Annotated[str, Meta(min_length=1, max_length=200)]


class _Registration(
    Struct, tag="RegistrationSubmitted", tag_field="event_type", forbid_unknown_fields=True
):
    nik: _Nik
    full_name: _Name
    birth_date: date
    sex: Literal["M", "F"]
    phone: _Phone
    address: _Address
    occupation: _Occupation
    declared_income: _Rupiah
    programmes: Annotated[tuple[Literal["JKK", "JKM", "JHT"], ...], Meta(max_length=3)]
    outlet_id: _Outlet | None = None


class _Payment(Struct, tag="ContributionPaid", tag_field="event_type", forbid_unknown_fields=True):
    nik: _Nik
    months: Literal[1, 3, 6, 12]
    amount: _Rupiah
    paid_at: _Aware
    outlet_id: _Outlet | None = None


class _Reversal(Struct, tag="PaymentReversed", tag_field="event_type", forbid_unknown_fields=True):
    nik: _Nik
    original_partner_ref: _Reference
    reason: _Reason
    reversed_at: _Aware


class _Envelope(Struct, forbid_unknown_fields=True, kw_only=True):
    # In EventEnvelope's order (kw_only lets a default stand among the others): the
    # decoded fields become the model's ``__dict__`` as they are.
    event_id: UUID
    event_type: Literal["RegistrationSubmitted", "ContributionPaid", "PaymentReversed"]
    schema_version: Literal[1] = SCHEMA_VERSION
    channel: _Slug
    partner_id: _Slug
    partner_ref: _Reference
    occurred_at: _Aware
    received_at: _Aware
    member_key: str  # must equal the payload's NIK (below), which its pattern checks
    payload: _Registration | _Payment | _Reversal
    agent_id: _Slug | None = None


_DECODER = msgspec.json.Decoder(_Envelope)
_Model = type[RegistrationSubmitted] | type[ContributionPaid] | type[PaymentReversed]


def _tag_first(model: type[BaseModel], struct: type[Struct]) -> bool:
    """Whether the model has ``event_type`` before the struct's fields or after them.

    A model is dumped in the order of its ``__dict__``, so the decoded fields must come in
    the model's order: the struct declares them in it, and the tag goes first or last.
    """
    order = tuple(model.model_fields)
    fields = struct.__struct_fields__
    if order == ("event_type", *fields):
        return True
    if order == (*fields, "event_type"):
        return False
    raise TypeError(f"{struct.__name__} must declare {model.__name__}'s fields in its order")


_PAYLOAD_MODELS: dict[type[Struct], tuple[_Model, bool]] = {
    struct: (model, _tag_first(model, struct))
    for struct, model in (
        (_Registration, RegistrationSubmitted),
        (_Payment, ContributionPaid),
        (_Reversal, PaymentReversed),
    )
}
if tuple(EventEnvelope.model_fields) != _Envelope.__struct_fields__:
    raise TypeError("_Envelope must declare EventEnvelope's fields in its order")
_EVENT_TYPES = {
    _Registration: "RegistrationSubmitted",
    _Payment: "ContributionPaid",
    _Reversal: "PaymentReversed",
}


def decode_envelope(value: bytes, replayed: bool = False) -> EventEnvelope:
    """The envelope ``value`` holds; pydantic's ``ValidationError`` if it is not a valid one.

    ``replayed``: the record came back from the dead-letter topic, so the full contract
    applies whatever its shape.
    """
    if not replayed:
        ours = _hub_envelope(value)
        if ours is not None:
            return ours
    return EventEnvelope.model_validate_json(value)


def _hub_envelope(value: bytes) -> EventEnvelope | None:
    """The envelope if it has exactly the shape the hub publishes, else None."""
    try:
        raw = _DECODER.decode(value)
    except msgspec.DecodeError:  # ValidationError is one
        return None
    payload = raw.payload
    # The two envelope rules that tie header to payload are cheap: kept on the fast path.
    if raw.member_key != payload.nik or raw.event_type != _EVENT_TYPES[type(payload)]:
        return None
    model, tag_first = _PAYLOAD_MODELS[type(payload)]
    if tag_first:
        fields = {"event_type": raw.event_type, **asdict(payload)}
    else:
        fields = asdict(payload)
        fields["event_type"] = raw.event_type
    envelope = asdict(raw)
    envelope["payload"] = trusted(model, fields)  # in its place: the order holds
    return trusted(EventEnvelope, envelope)


def is_replayed(headers: object) -> bool:
    """Whether a record's headers say an operator replayed it from the dead-letter topic."""
    if not headers or not isinstance(headers, (list, tuple)):
        return False  # most records: no headers, and no generator made to look through none
    return any(isinstance(h, tuple) and len(h) == 2 and h[0] == REPLAYED_HEADER for h in headers)
