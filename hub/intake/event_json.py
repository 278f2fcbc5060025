"""The JSON of an event as intake stores and publishes it, written once from validated values.

The bytes are those ``EventEnvelope.model_dump_json()`` writes for the same values: fields
in the contract's order, ``agent_id`` left out when absent, UTC times ending in ``Z``.
Intake builds every envelope from a request that passed the whole contract, so nothing is
validated here; building the pydantic envelope only to dump it cost a request 12.5 µs,
this 3.2-3.8 (a Kantor Pos upload makes one a row). ``tests/unit/test_event_json.py`` holds
the two writers to the same bytes.

One case is left to pydantic: a time whose zone's offset is not whole minutes (local mean
time, before a zone took its standard offset: Makassar's +07:57:36 until 1932). Both
writers give the offset in minutes, pydantic rounded and orjson cut, so they would
disagree by a minute.
"""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from hub.intake.model import Partner
from schemas.events import SCHEMA_VERSION, EventEnvelope, EventPayload

_OPTIONS = orjson.OPT_UTC_Z
"""pydantic writes a time at UTC as ``...Z``; orjson, unless told, as ``+00:00``."""


def envelope_json(
    partner: Partner,
    event_id: UUID,
    partner_ref: str,
    occurred_at: datetime,
    received_at: datetime,
    payload: EventPayload,
) -> str:
    """The envelope of ``payload`` from ``partner`` (and its agent), keyed by the member's
    NIK, as JSON text."""
    # pydantic keeps a model's ``__dict__`` in the order of its fields, built or constructed.
    fields = payload.__dict__
    envelope: dict[str, Any] = {
        "event_id": event_id,
        "event_type": payload.event_type,
        "schema_version": SCHEMA_VERSION,
        "channel": partner.channel,
        "partner_id": partner.partner_id,
        "partner_ref": partner_ref,
        "occurred_at": occurred_at,
        "received_at": received_at,
        "member_key": payload.nik,
        "payload": fields,
    }
    if partner.agent_id is not None:
        envelope["agent_id"] = partner.agent_id
    if (
        _offset_in_seconds(occurred_at)
        or _offset_in_seconds(received_at)
        or any(isinstance(v, datetime) and _offset_in_seconds(v) for v in fields.values())
    ):
        return EventEnvelope.model_construct(**{**envelope, "payload": payload}).model_dump_json()
    return orjson.dumps(envelope, option=_OPTIONS).decode()


def _offset_in_seconds(at: datetime) -> bool:
    """Whether ``at``'s offset from UTC is not a whole number of minutes."""
    if at.tzinfo is UTC:
        return False
    offset = at.utcoffset()
    return offset is not None and (offset.seconds % 60 != 0 or offset.microseconds != 0)
