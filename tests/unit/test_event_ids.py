"""Event ids never change from one version of the hub to the next.

A partner's retry after an upgrade must find the request it retries: the id (and the
hub reference made from it) is RFC 4122's name-based UUID (version 5) of the partner,
the kind and the reference. The answers below were computed once, by ``uuid.uuid5``,
and are kept as literals.
"""

import uuid

import pytest

from hub.intake.model import event_id_for, hub_reference_for
from hub.intake.ports import RequestKind


@pytest.mark.parametrize(
    ("partner", "kind", "reference", "event_id", "hub_reference"),
    [
        (
            "kantorpos",
            "registration",
            "POS-2026-000123",
            "ed9a88ba-67b5-57f5-913b-98100867495f",
            "REG-ED9A88BA67B557F5",
        ),
        (
            "brilink",
            "payment",
            "BRI/01/äé 9",
            "c0aa24c0-c6ee-5d27-9d30-70d16ae04bb9",
            "PAY-C0AA24C0C6EE5D27",
        ),
        ("", "reversal", "", "6716ee53-5e62-56fd-9a96-4fd95fd71d36", "REV-6716EE535E6256FD"),
    ],
)
def test_a_request_has_the_event_id_and_hub_reference_every_version_gave_it(
    partner: str, kind: RequestKind, reference: str, event_id: str, hub_reference: str
) -> None:
    made = event_id_for(partner, kind, reference)

    assert made == uuid.UUID(event_id)
    assert (made.version, made.variant) == (5, uuid.RFC_4122)
    assert hub_reference_for(kind, made) == hub_reference
