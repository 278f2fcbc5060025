"""The records a request travels in, from its claim to its answer, cannot change in place.

They are msgspec structs (``hub.intake.ports.InboxEntry`` says why); an answer handed to
every retry of a request, or a row the ledger keeps, must stay as it was built.
"""

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from hub.intake.model import Acceptance
from hub.intake.ports import ClaimedRequest, NewRequest
from hub.store.recording import IncomingEvent
from tests.unit.fakes import envelope, registration_payload

AT = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
ENTRY = {
    "partner_id": "pos",
    "kind": "registration",
    "reference": "POS-1",
    "request_hash": "0" * 64,
    "event_id": uuid.UUID(int=7),
    "hub_reference": "REG-1",
    "member_key": "5171044508900001",
}
CLAIMED = ClaimedRequest(
    **ENTRY, status="pending", kpj=None, reason=None, event_json="{}", created_at=AT
)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (CLAIMED, "status"),
        (NewRequest(**ENTRY, event_json="{}", received_at=AT), "event_json"),
        (Acceptance("POS-1", "REG-1"), "kpj"),
        (IncomingEvent(envelope(registration_payload()), 0, 1), "offset"),
    ],
    ids=["claimed", "new", "acceptance", "incoming"],
)
def test_a_record_refuses_a_change_in_place(record: msgspec.Struct, field: str) -> None:
    with pytest.raises(AttributeError):
        setattr(record, field, None)


def test_a_replaced_claim_is_a_changed_copy_and_the_original_stays() -> None:
    accepted = msgspec.structs.replace(CLAIMED, status="accepted", updated_at=AT)

    assert (accepted.status, accepted.updated_at, accepted.reference) == ("accepted", AT, "POS-1")
    assert (CLAIMED.status, CLAIMED.updated_at) == ("pending", None)
    assert accepted != CLAIMED
    assert msgspec.structs.replace(accepted, status="pending", updated_at=None) == CLAIMED
