"""What a partner is told about the outcome of its requests: the callback's event and body.

Registrations: ``registration.recorded`` (with the KPJ) or ``registration.rejected``.
Payments: ``payment.recorded`` or ``payment.rejected``, and ``payment.reversed`` once a
reversal is applied. A reversal's notification is filed under the payment's reference,
so ``GET /v1/payments/{reference}/notifications`` shows the payment's whole story.
A reversal the store refuses sends nothing: the payment stands, as the partner was told
when its payment was recorded; the refusal shows in ``GET /v1/payments/{reference}``.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.intake.model import event_id_for, hub_reference_for
from hub.membership.apply import Outcome
from schemas.events import ContributionPaid, PaymentReversed, RegistrationSubmitted

_NOTIFICATION_NAMESPACE = uuid.UUID("0b8e5d1e-7c44-4f5a-a1f4-93c2b0e6d7a2")


def notification_id_for(event_id: uuid.UUID) -> uuid.UUID:
    """One notification per event: a partner de-duplicates redeliveries on it."""
    return uuid.uuid5(_NOTIFICATION_NAMESPACE, str(event_id))


@dataclass(frozen=True, slots=True)
class Notice:
    """One callback to queue: about which of the partner's requests, and what to send."""

    notification_id: uuid.UUID
    kind: str
    reference: str
    event: str
    body: dict[str, Any]


def notice_for(outcome: Outcome, now: datetime) -> Notice | None:
    """The callback for one applied (or refused) event, or None if it warrants none."""
    envelope = outcome.envelope
    payload = envelope.payload
    notification_id = notification_id_for(envelope.event_id)
    body: dict[str, Any]
    common = {"notification_id": str(notification_id), "occurred_at": now.isoformat()}
    if isinstance(payload, RegistrationSubmitted):
        event = f"registration.{outcome.status}"
        recorded = outcome.status == "recorded" and outcome.member is not None
        body = {
            "event": event,
            "reference": envelope.partner_ref,
            "hub_reference": hub_reference_for("registration", envelope.event_id),
            "status": outcome.status,
            "kpj": outcome.member.kpj if recorded and outcome.member else None,
            "reason": outcome.reason,
        }
        return Notice(notification_id, "registration", envelope.partner_ref, event, body | common)
    if isinstance(payload, ContributionPaid):
        event = f"payment.{outcome.status}"
        body = {
            "event": event,
            "reference": envelope.partner_ref,
            "hub_reference": hub_reference_for("payment", envelope.event_id),
            "status": outcome.status,
            "months": payload.months,
            "amount": payload.amount,
            "reason": outcome.reason,
        }
        return Notice(notification_id, "payment", envelope.partner_ref, event, body | common)
    if isinstance(payload, PaymentReversed) and outcome.status == "recorded":
        payment_ref = payload.original_partner_ref
        payment_event = event_id_for(envelope.partner_id, "payment", payment_ref)
        body = {
            "event": "payment.reversed",
            "reference": payment_ref,
            "hub_reference": hub_reference_for("payment", payment_event),
            "status": "reversed",
            "reversal_reference": envelope.partner_ref,
            "reversal_hub_reference": hub_reference_for("reversal", envelope.event_id),
            "reason": payload.reason,
        }
        return Notice(notification_id, "payment", payment_ref, "payment.reversed", body | common)
    return None
