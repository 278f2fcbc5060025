"""Payments in the request inbox as intake leaves them: claimed, then acknowledged."""

import uuid
from datetime import UTC, date, datetime, timedelta

from hub.intake.ports import NewRequest, SettlementFacts
from hub.store.inbox import SqlRequestLedger


def payment_request(
    partner: str,
    reference: str,
    day: date,
    amount: int = 16_800,
    member_key: str = "5171044508900001",
) -> NewRequest:
    """A one-month payment received at 03:00 UTC on ``day``, split JKK 10,000 + JKM 6,800."""
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
    return NewRequest(
        partner_id=partner,
        kind="payment",
        reference=reference,
        request_hash="0" * 64,
        event_id=uuid.uuid4(),
        hub_reference=f"PAY-{reference}",
        member_key=member_key,
        event_json="{}",
        received_at=at,
        settlement=SettlementFacts(
            business_date=day, amount=amount, months=1, paid_at=at, jkk=10_000, jkm=6_800, jht=0
        ),
    )


async def accept(ledger: SqlRequestLedger, request: NewRequest) -> None:
    """Claim ``request`` and mark it accepted, as when the broker acknowledged its event."""
    await ledger.claim(request)
    await ledger.mark_accepted(request.event_id, request.received_at)
    await ledger.flush()  # acknowledgements are written after the answer
