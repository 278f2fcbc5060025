"""Deciding about exceptions: a missing_in_hub line paid in through intake, or a recorded decision.

Paying in goes through ``IntakeService.submit_payment`` under the partner's own reference,
so every normal rule applies (amount due, months, the closed-day rule) and a repeat is
idempotent. Every decision is one audited row: who, when, why, and what it did.
"""

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from hub.errors import InvalidRequest, NotFound
from hub.intake.model import Partner
from hub.intake.parsing import build
from hub.intake.requests import PaymentRequest
from hub.intake.service import IntakeService
from hub.reconciliation.store import Decision, ReconciliationStore, StoredException

log = logging.getLogger("hub.reconciliation")

DecisionKind = Literal["paid_in", "accepted_difference", "chased_with_partner"]
DECISIONS: tuple[DecisionKind, ...] = ("paid_in", "accepted_difference", "chased_with_partner")


class Resolver:
    """Turns an exception line into a payment or a recorded decision."""

    def __init__(
        self,
        store: ReconciliationStore,
        intake: IntakeService,
        partners: Mapping[str, Partner],
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._intake = intake
        self._partners = partners
        self._clock = clock

    async def resolve(
        self,
        run_id: int,
        line: str,
        *,
        by: str,
        reason: str,
        decision: DecisionKind | None = None,
        via: str = "cli",
    ) -> Decision:
        """Resolve one line; a line already decided keeps (and returns) its decision.

        Who decided and why are keywords: both are free text in the audit trail, and
        swapped they would still type-check."""
        run = await self._store.run(run_id)
        if run is None:
            raise NotFound(f"no reconciliation run {run_id}")
        exception = await self._store.exception(run_id, line)
        if exception is None:
            raise NotFound(f"run {run_id} has no exception on line {line}")
        held = await self._store.decision(run_id, line)
        if held is not None:
            return held
        kind: DecisionKind = decision or (
            "paid_in" if exception.category == "missing_in_hub" else "accepted_difference"
        )
        if not reason.strip():
            raise InvalidRequest("a decision needs a reason")
        payment_reference = hub_reference = None
        if kind == "paid_in":
            if exception.category != "missing_in_hub":
                raise InvalidRequest(
                    f"only a missing_in_hub line can be paid in; line {line} is "
                    f"{exception.category}"
                )
            partner = self._partners.get(run.partner_id)
            if partner is None:
                raise NotFound(f"partner {run.partner_id!r} is not configured")
            request = _payment_request(run_id, exception, partner, run.business_date.isoformat())
            accepted = await self._intake.submit_payment(partner, request)
            payment_reference, hub_reference = accepted.reference, accepted.hub_reference
        recorded = await self._store.decide(
            Decision(
                run_id=run_id,
                line=line,
                category=exception.category,
                decision=kind,
                decided_by=by,
                reason=reason,
                decided_at=self._clock(),
                payment_reference=payment_reference,
                hub_reference=hub_reference,
            ),
            via,
        )
        log.info(
            "reconciliation decision run=%s line=%s category=%s decision=%s by=%s hub_ref=%s",
            run_id,
            line,
            exception.category,
            recorded.decision,
            by,
            recorded.hub_reference,
        )
        return recorded


def _payment_request(
    run_id: int, exception: StoredException, partner: Partner, business_date: str
) -> PaymentRequest:
    if exception.months is None:
        raise InvalidRequest(
            f"line {exception.line} does not say how many months were paid; it cannot be paid in"
        )
    if exception.nik is None and exception.payment_code is None:
        raise InvalidRequest(f"line {exception.line} names no member (NIK or payment code)")
    # Deterministic content, so a repeat after a crash is the same request (idempotent).
    paid_at = exception.paid_at or datetime.combine(
        datetime.fromisoformat(business_date).date(), time(12, 0), ZoneInfo(partner.timezone)
    )
    fields: dict[str, object] = {
        "reference": exception.reference or f"RECON-{run_id}-{exception.line}",
        "nik": exception.nik if exception.payment_code is None else None,
        "payment_code": exception.payment_code,
        "months": exception.months,
        "amount": exception.amount or 0,
        "paid_at": paid_at,
    }
    try:
        # The partner's file is not intake: a line may hold what intake never takes.
        return build(PaymentRequest, fields)
    except InvalidRequest as refused:
        raise InvalidRequest(
            f"line {exception.line} cannot be paid in: {refused.message}", refused.problems
        ) from None
