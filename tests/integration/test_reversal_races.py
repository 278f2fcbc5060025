"""A payment and its reversal arriving at the same instant, in two API processes.

A partner that gave up on a payment reverses it; the payment itself may still be on its
way (another connection, a queue, a load balancer) and reach another process at the
same moment. Whatever the interleaving, the payment must never stand while the reversal
was told "no such payment": either the reversal takes it back, or the payment is refused
as reversed (or both, and the payment is applied and taken back).
"""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import schedule_from
from hub.errors import AlreadyReversed, NotFound
from hub.intake.model import Partner
from hub.intake.ports import ReversalReference
from hub.intake.requests import PaymentRequest, RegistrationRequest, ReversalRequest
from hub.intake.service import IntakeService
from hub.settings import load_settings
from hub.store.inbox import SqlRequestLedger
from tests.support.people import applicant
from tests.unit.fakes import FakePublisher

pytestmark = pytest.mark.integration

PAIRS = 300


def _outcome(answer: object) -> str:
    if isinstance(answer, AlreadyReversed):
        return "refused as reversed"
    if isinstance(answer, NotFound):
        return "not found"
    if isinstance(answer, BaseException):
        raise answer
    return "accepted"


async def test_a_payment_and_its_reversal_at_once_never_leave_the_payment_standing_unreversed(
    engines: list[AsyncEngine],
) -> None:
    partner = Partner(f"race-{uuid.uuid4().hex[:8]}", "hub-api")
    schedule = schedule_from(load_settings())
    ledgers = [SqlRequestLedger(engine) for engine in engines]
    intakes = [IntakeService(ledger, FakePublisher(), schedule) for ledger in ledgers]
    person = applicant()
    await intakes[0].submit_registration(partner, RegistrationRequest.model_validate(person))
    await ledgers[0].flush()

    outcomes: dict[tuple[str, str], int] = {}
    for i in range(PAIRS):
        reference = f"PAY-{i}"
        payment = PaymentRequest(
            reference=reference,
            nik=person["nik"],
            months=1,
            amount=16_800,
            paid_at=datetime.now(UTC),
        )
        reversal = ReversalRequest(reference=f"REV-{i}", payment_reference=reference)
        # Alternate which process gets which, and which starts first.
        pay, reverse = intakes[i % 2], intakes[(i + 1) % 2]
        calls = [pay.submit_payment(partner, payment), reverse.submit_reversal(partner, reversal)]
        if i % 4 >= 2:
            calls.reverse()
        answers = await asyncio.gather(*calls, return_exceptions=True)
        if i % 4 >= 2:
            answers.reverse()
        pair = (_outcome(answers[0]), _outcome(answers[1]))
        outcomes[pair] = outcomes.get(pair, 0) + 1
    for ledger in ledgers:
        await ledger.flush()

    print(f"payment, reversal: {outcomes}")
    assert ("accepted", "not found") not in outcomes, outcomes
    assert sum(outcomes.values()) == PAIRS


async def test_a_reversal_remembered_for_an_agent_names_that_agents_payment_only(
    engines: list[AsyncEngine],
) -> None:
    ledger = SqlRequestLedger(engines[0])
    partner = f"agency-{uuid.uuid4().hex[:8]}"
    for reference, agent in (("REV-A", "prs-1"), ("REV-P", None)):
        await ledger.claim_reversal_reference(
            ReversalReference(
                partner, reference, f"PAY-{agent}", "0" * 64, datetime.now(UTC), agent
            )
        )

    named = [
        await ledger.reversal_named(partner, payment, agent)
        for payment, agent in (
            ("PAY-prs-1", "prs-1"),
            ("PAY-prs-1", "prs-2"),
            ("PAY-prs-1", None),
            ("PAY-None", None),
            ("PAY-None", "prs-1"),
        )
    ]
    assert named == [True, False, False, True, False]
    assert not await ledger.reversal_named("another-partner", "PAY-None", None)
