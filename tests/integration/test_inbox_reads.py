"""Reads of the inbox in the process that answered: its held acknowledgements count.

A ``202`` does not wait for the row's ``accepted`` to be written (docs/reliability.md):
until it is, this process shows the row as accepted from the acknowledgement it holds.
The acknowledgement is let go once written; a read that began before it was written
still holds the row as ``pending``, and must not report the request unknown.
"""

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from hub.intake.ports import NewRequest
from hub.store.inbox import SqlRequestLedger
from tests.support.inbox import payment_request
from tests.support.statements import on_each_statement
from tests.unit.fakes import envelope, registration_payload

pytestmark = pytest.mark.integration


@contextmanager
def acknowledgements_written_during_the_read(
    engine: AsyncEngine, ledger: SqlRequestLedger, table_read: str
) -> Iterator[list[str]]:
    """Right after the first read of ``table_read`` ran (its rows not yet looked at), the
    ledger writes its held acknowledgements on another connection and lets go of them, as
    its background writer does. Yields the statements it fired after."""
    fired: list[str] = []

    def write_acknowledgements(
        _conn: Any, _cursor: Any, statement: str, *_: Any, **__: Any
    ) -> None:
        if not fired and statement.lstrip().startswith("SELECT") and table_read in statement:
            fired.append(statement)
            await_only(ledger.flush())

    with on_each_statement(engine, "after_cursor_execute", write_acknowledgements):
        yield fired


async def test_a_request_read_while_its_acknowledgement_is_written_is_shown_accepted(
    engine: AsyncEngine,
) -> None:
    ledger = SqlRequestLedger(engine)
    request = payment_request("ack-race", f"R-{uuid.uuid4().hex[:12]}", date(2026, 3, 10))
    await ledger.claim(request)
    await ledger.mark_accepted(request.event_id, request.received_at)

    with acknowledgements_written_during_the_read(engine, ledger, "partner_requests") as fired:
        found = await ledger.find("ack-race", "payment", request.reference)

    assert fired, "the acknowledgement was not written during the read"
    assert found is not None
    assert found.status == "accepted"


async def test_a_registration_read_while_its_acknowledgement_is_written_prices_a_payment(
    engine: AsyncEngine,
) -> None:
    ledger = SqlRequestLedger(engine)
    # A woman born 5 August 1990 (day + 40 in the NIK), not a member of this database.
    nik = f"517104450890{random.randrange(1000, 10_000)}"
    event = envelope(registration_payload(nik), partner_ref=f"REG-{uuid.uuid4().hex[:12]}")
    registration = NewRequest(
        partner_id="ack-race",
        kind="registration",
        reference=event.partner_ref,
        request_hash="0" * 64,
        event_id=event.event_id,
        hub_reference=f"REG-{event.event_id.hex[:10]}",
        member_key=nik,
        event_json=event.model_dump_json(),
        received_at=event.received_at,
    )
    await ledger.claim(registration)
    await ledger.mark_accepted(registration.event_id, registration.received_at)

    with acknowledgements_written_during_the_read(engine, ledger, "partner_requests") as fired:
        terms = await ledger.member_terms(nik)

    assert fired, "the acknowledgement was not written during the read"
    assert terms is not None
    assert (terms.nik, terms.full_name, terms.kpj) == (nik, "NI MADE SARI", None)
