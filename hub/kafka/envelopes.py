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
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import msgspec
from msgspec import Meta, Struct
from pydantic import BaseModel

from schemas.events import (
    SCHEMA_VERSION,
    ContributionPaid,
    EventEnvelope,
    PaymentReversed,
    RegistrationSubmitted,
)

M = TypeVar("M", bound=BaseModel)

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


class _Envelope(Struct, forbid_unknown_fields=True):
    event_id: UUID
    event_type: Literal["RegistrationSubmitted", "ContributionPaid", "PaymentReversed"]
    channel: _Slug
    partner_id: _Slug
    partner_ref: _Reference
    occurred_at: _Aware
    received_at: _Aware
    member_key: _Nik
    payload: _Registration | _Payment | _Reversal
    schema_version: Literal[1] = SCHEMA_VERSION
    agent_id: _Slug | None = None


_DECODER = msgspec.json.Decoder(_Envelope)
_Model = type[RegistrationSubmitted] | type[ContributionPaid] | type[PaymentReversed]


def _in_model_order(model: type[BaseModel], struct: type[Struct]) -> tuple[str, ...]:
    """The model's fields the struct holds (and its tag), in the model's order: a model
    is dumped in the order of its ``__dict__``."""
    held = {*struct.__struct_fields__, "event_type"}
    return tuple(name for name in model.model_fields if name in held)


_PAYLOAD_MODELS: dict[type[Struct], tuple[_Model, tuple[str, ...]]] = {
    struct: (model, _in_model_order(model, struct))
    for struct, model in (
        (_Registration, RegistrationSubmitted),
        (_Payment, ContributionPaid),
        (_Reversal, PaymentReversed),
    )
}
_ENVELOPE_FIELDS = _in_model_order(EventEnvelope, _Envelope)
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
        trusted = _hub_envelope(value)
        if trusted is not None:
            return trusted
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
    model, names = _PAYLOAD_MODELS[type(payload)]
    fields = {
        name: raw.event_type if name == "event_type" else getattr(payload, name) for name in names
    }
    envelope = {name: getattr(raw, name) for name in _ENVELOPE_FIELDS}
    envelope["payload"] = _unvalidated(model, fields)
    return _unvalidated(EventEnvelope, envelope)


def _unvalidated(model: type[M], values: dict[str, Any]) -> M:
    """``model`` holding ``values`` (every field, none extra), without validating them.

    What ``model_construct`` leaves behind, without its walk over aliases and defaults
    (it took longer than decoding the event: every field is present here anyway).
    """
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def is_replayed(headers: object) -> bool:
    """Whether a record's headers say an operator replayed it from the dead-letter topic."""
    if not isinstance(headers, (list, tuple)):
        return False
    return any(isinstance(h, tuple) and len(h) == 2 and h[0] == REPLAYED_HEADER for h in headers)
