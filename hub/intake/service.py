"""Intake: validate, claim the partner's reference, publish, answer.

The partner's reference is its idempotency key. The inbox row is claimed before
the event is published, and the event id is derived from (partner, kind,
reference), so a retry, even a concurrent one, republishes the very same event,
which the core consumer applies once. A partner hears "accepted" only after
the broker acknowledged the event.
"""

import asyncio
import hashlib
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence, Set
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from time import perf_counter
from uuid import UUID

from hub.errors import (
    AlreadyPaid,
    AlreadyReversed,
    AmountMismatch,
    BrokerUnavailable,
    FieldProblem,
    HubError,
    InDoubt,
    InvalidRequest,
    NotFound,
    NotReversible,
    ReferenceConflict,
)
from hub.intake.event_json import envelope_json
from hub.intake.harvest import InquiryWatch
from hub.intake.model import (
    Acceptance,
    InquiryAnswer,
    MemberStatus,
    Partner,
    RequestView,
    business_day,
    event_id_for,
    hub_reference_for,
    request_hash,
)
from hub.intake.ports import (
    ClaimedRequest,
    EventPublisher,
    MemberTerms,
    NewRequest,
    RequestKind,
    RequestLedger,
    ReversalReference,
    SettlementFacts,
)
from hub.intake.requests import (
    InquiryRequest,
    PaymentRequest,
    RegistrationRequest,
    ReversalRequest,
)
from hub.membership.coverage import Coverage, CoverageRules, add_months, default_rules
from hub.membership.masking import mask_name
from hub.membership.payment_code import PaymentCodes
from hub.membership.schedule import ContributionSchedule
from hub.observability import metrics
from hub.observability.logs import bound_request, info_line
from schemas.events import (
    Applicant,
    ContributionPaid,
    EventPayload,
    PaymentReversed,
    RegistrationSubmitted,
)
from schemas.trusted import trusted

log = logging.getLogger(__name__)

_APPLICANT_FIELDS = tuple(Applicant.model_fields)
if tuple(RegistrationSubmitted.model_fields) != (*_APPLICANT_FIELDS, "event_type"):
    raise TypeError("RegistrationSubmitted must be the Applicant's fields, then event_type")


def sent_by(partner: Partner, claimed: ClaimedRequest | None) -> ClaimedRequest | None:
    """``claimed`` if this partner sent it: an agent sees only its own requests."""
    if claimed is None or partner.agent_id not in (None, claimed.agent_id):
        return None
    return claimed


@contextmanager
def _observed(channel: str, operation: str, success: str) -> Iterator[None]:
    """Count one request by channel, operation and outcome, and time it."""
    started = perf_counter()
    outcome = success
    try:
        yield
    except BrokerUnavailable:
        outcome = "unavailable"
        metrics.UNAVAILABLE.labels(channel, operation).inc()
        raise
    except InvalidRequest:
        outcome = "invalid"
        raise
    except ReferenceConflict:
        outcome = "conflict"
        raise
    except NotFound:
        outcome = "not_found"
        raise
    except HubError:
        outcome = "refused"
        raise
    except BaseException:
        outcome = "error"
        raise
    finally:
        metrics.REQUESTS.labels(channel, operation, outcome).inc()
        metrics.REQUEST_SECONDS.labels(channel, operation).observe(perf_counter() - started)


class IntakeService:
    """The use cases of the partner API; adapters of every channel call these."""

    def __init__(
        self,
        ledger: RequestLedger,
        publisher: EventPublisher,
        schedule: ContributionSchedule,
        payment_codes: PaymentCodes | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        redrive_after: timedelta = timedelta(seconds=60),
        *,
        rules: CoverageRules | None = None,
        inquiries: InquiryWatch | None = None,
    ) -> None:
        self._ledger = ledger
        self._inquiries = inquiries
        self._publisher = publisher
        self._schedule = schedule
        self._rules = rules or default_rules()
        self._codes = payment_codes or PaymentCodes("8866")
        self._clock = clock
        self._redrive_after = redrive_after

    @property
    def payment_codes(self) -> PaymentCodes:
        return self._codes

    async def submit_registration(
        self, partner: Partner, request: RegistrationRequest
    ) -> Acceptance:
        with _observed(partner.channel, "registration", "accepted"):
            return await self._submit_registration(partner, request)

    async def _submit_registration(
        self, partner: Partner, request: RegistrationRequest
    ) -> Acceptance:
        self._schedule.check_declared_income(request.declared_income)
        new = self._new_request(
            partner,
            "registration",
            request.reference,
            request_hash(request, partner.agent_id),
            _registration_event(request),
            occurred_at=self._clock(),
        )
        return await self._accept(partner, new)

    def file_submission(self, partner: Partner) -> "FileSubmission":
        """The batches of one batch file of ``partner``'s, answered together at its end."""
        return FileSubmission(self, partner)

    async def _acknowledge(self, acknowledged: Sequence[tuple[UUID, datetime]]) -> None:
        for event_id, at in acknowledged:
            await self._ledger.mark_accepted(event_id, at)

    async def _submit_batch(
        self,
        partner: Partner,
        requests: Sequence[RegistrationRequest],
        published: Set[UUID],
        claim_turn: asyncio.Lock,
    ) -> tuple[list[Acceptance | HubError], list[tuple[UUID, datetime]]]:
        """Many registrations of one partner at once (a batch of a file), each answered as
        alone; with (event id, when the broker acknowledged it) of each row published, for
        ``FileSubmission`` to mark accepted.

        One claim statement for the batch, every new event published at once, one log
        line for the batch. The first row with a reference claims it; a later row with
        the same reference gets what a retry would get (the same answer, or a conflict).
        A store outage fails the whole batch (raised, ``StoreUnavailable``); a broker
        outage only the rows it left unpublished (``BrokerUnavailable`` in their place).
        ``published``: events published and acknowledged, but not yet marked accepted; a
        row of theirs is answered as accepted, not published again. ``claim_turn``: held
        while the batch is claimed, so batches under way together claim in the order
        they came (``asyncio.Lock`` wakes its waiters first come, first served).
        """
        started = perf_counter()
        now = self._clock()
        outcomes: list[Acceptance | HubError | None] = [None] * len(requests)
        fingerprints = [request_hash(r, partner.agent_id) for r in requests]
        first: dict[str, NewRequest] = {}
        for i, request in enumerate(requests):
            try:
                self._schedule.check_declared_income(request.declared_income)
            except HubError as refused:
                outcomes[i] = refused
                continue
            if request.reference not in first:
                first[request.reference] = self._new_request(
                    partner,
                    "registration",
                    request.reference,
                    fingerprints[i],
                    _registration_event(request),
                    now,
                    None,
                    now,
                )
        # Group-committed by the ledger: one statement for the batch.
        async with claim_turn:
            claims = await self._ledger.claim_many(list(first.values()))
        held = {c.reference: c for c in claims}
        unpublished, acknowledged = await self._publish_all(
            [c for c in claims if c.status == "pending" and c.event_id not in published]
        )
        for claimed in claims:
            if claimed.status != "pending":
                await self._redrive_if_lost(claimed)
        for i, request in enumerate(requests):
            if outcomes[i] is not None:
                continue
            claimed = held[request.reference]
            if claimed.request_hash != fingerprints[i]:
                outcomes[i] = ReferenceConflict(
                    f"reference {request.reference!r} was already used for a different registration"
                )
            else:
                outcomes[i] = unpublished.get(claimed.event_id) or Acceptance(
                    claimed.reference, claimed.hub_reference, kpj=claimed.kpj
                )
        answers = [o for o in outcomes if o is not None]
        _count_batch(partner.channel, "registration", answers, perf_counter() - started)
        accepted = sum(1 for o in answers if isinstance(o, Acceptance))
        with bound_request(partner_id=partner.partner_id, channel=partner.channel):
            log.info("%d of %d registrations of a batch accepted", accepted, len(answers))
        return answers, acknowledged

    async def _publish_all(
        self, claims: Sequence[ClaimedRequest]
    ) -> tuple[dict[UUID, HubError], list[tuple[UUID, datetime]]]:
        """Publish the stored events of ``claims`` together: what each one that failed got,
        and (event id, when) of each one the broker acknowledged."""
        results = await self._publisher.publish_many(
            [(c.member_key, c.event_json.encode()) for c in claims]
        )
        failed: dict[UUID, HubError] = {}
        acknowledged: list[tuple[UUID, datetime]] = []
        acknowledged_at = self._clock()
        for claimed, result in zip(claims, results, strict=True):
            if result is not None:
                failed[claimed.event_id] = result
            else:
                acknowledged.append((claimed.event_id, acknowledged_at))
        return failed, acknowledged

    async def inquiry(
        self, request: InquiryRequest, partner: Partner | None = None, channel: str = "hub-api"
    ) -> InquiryAnswer:
        """The member's bill; refused if paying would go beyond the months allowed ahead.

        An inquiry by NIK takes from the partner's tighter NIK-inquiry bucket first,
        before anything is looked up (``hub.intake.harvest``).
        """
        with _observed(channel, "inquiry", "answered"):
            if partner is not None and request.nik is not None and self._inquiries is not None:
                await self._inquiries.inquired(partner.partner_id, request.nik)
            return self._bill(await self._member(request.nik, request.payment_code), request.months)

    async def submit_payment(self, partner: Partner, request: PaymentRequest) -> Acceptance:
        with _observed(partner.channel, "payment", "accepted"):
            return await self._submit_payment(partner, request)

    async def _submit_payment(self, partner: Partner, request: PaymentRequest) -> Acceptance:
        fingerprint = request_hash(request, partner.agent_id)
        # A retry of an accepted payment is answered as before, whatever happened to the
        # member since (its own coverage moved on; the price may have changed).
        held = await self._ledger.find(partner.partner_id, "payment", request.reference)
        if held is not None and held.status != "pending":
            if held.request_hash != fingerprint:
                raise ReferenceConflict(
                    f"reference {request.reference!r} was already used for a different payment"
                )
            reversal = await self._held(partner, "reversal", request.reference)
            if reversal is not None:
                # An advice after the host's own reversal: the payment does not stand. A
                # reversal still in doubt (answered "try again") is made definite first:
                # "paid" now, with the reversal applied later, would lose the cash.
                if reversal.status == "pending":
                    await self._make_definite(reversal)
                raise AlreadyReversed(f"payment {request.reference!r} was reversed")
            await self._redrive_if_lost(held)
            return Acceptance(held.reference, held.hub_reference, kpj=held.kpj)
        terms = await self._member(request.nik, request.payment_code)
        bill = self._bill(terms, request.months)
        if request.amount != bill.amount_due:
            raise AmountMismatch(request.amount, bill.amount_due, request.months)
        # Every field was validated with the request (the NIK is the stored member's).
        payload = ContributionPaid.model_construct(
            nik=terms.nik,
            months=request.months,
            amount=request.amount,
            paid_at=request.paid_at,
            outlet_id=request.outlet_id,
        )
        received_at = self._clock()
        monthly = self._schedule.monthly(terms.declared_income, terms.programmes)
        settlement = SettlementFacts(
            business_date=business_day(partner, received_at),
            amount=request.amount,
            months=request.months,
            paid_at=request.paid_at,
            jkk=monthly.jkk * request.months,
            jkm=monthly.jkm * request.months,
            jht=monthly.jht * request.months,
        )
        new = self._new_request(
            partner,
            "payment",
            request.reference,
            fingerprint,
            payload,
            request.paid_at,
            received_at=received_at,
            settlement=settlement,
        )
        accepted = await self._accept(partner, new)
        if self._inquiries is not None:
            self._inquiries.paid(partner.partner_id, terms.nik)
        return accepted

    async def submit_reversal(self, partner: Partner, request: ReversalRequest) -> Acceptance:
        """Take back a payment this partner sent, if its business day is not yet settled.

        Two keys guard it. The reversal's own reference is unique per partner, like
        every request reference: the same reference naming another payment is a
        conflict and voids nothing. And one reversal per payment: the inbox holds it
        under the payment's reference, so a second, different reversal of the same
        payment is refused as already reversed. A retried reversal is answered as
        before, even once the payment's business day is settled.
        """
        with _observed(partner.channel, "reversal", "accepted"):
            return await self._submit_reversal(partner, request)

    async def _submit_reversal(self, partner: Partner, request: ReversalRequest) -> Acceptance:
        agent = "" if partner.agent_id is None else f"\x1fagent:{partner.agent_id}"
        fingerprint = hashlib.sha256(
            f"{request.reference}\x1f{request.payment_reference}{agent}".encode()
        ).hexdigest()
        held = await self._ledger.find_reversal_reference(partner.partner_id, request.reference)
        if held is not None:
            _same_reversal(held, fingerprint)
            done = await self._ledger.find(partner.partner_id, "reversal", held.payment_reference)
            if done is not None and done.status != "pending" and done.request_hash == fingerprint:
                return Acceptance(request.reference, done.hub_reference)
        reversal_reference = ReversalReference(
            partner_id=partner.partner_id,
            reference=request.reference,
            payment_reference=request.payment_reference,
            request_hash=fingerprint,
            created_at=self._clock(),
            agent_id=partner.agent_id,
        )
        payment = await self._held(partner, "payment", request.payment_reference)
        if payment is None:
            # Not received, or not yet: the payment may still be on its way (another
            # connection, a queue, a slow load balancer) while the partner gave up on it.
            # The reversal is remembered first and the payment looked for again, so that
            # either this sees the payment or the payment sees the reversal and is refused.
            _same_reversal(
                await self._ledger.claim_reversal_reference(reversal_reference), fingerprint
            )
            payment = await self._held(partner, "payment", request.payment_reference)
        if payment is None:
            raise _not_received(request.payment_reference)
        if payment.status == "rejected":
            raise NotReversible(f"the payment was not applied: {payment.reason}")
        now = self._clock()
        # The day the payment was dated when accepted (never re-computed: a partner's zone
        # or cut-off may have changed since), and whether the partner's day was closed.
        paid_day = payment.business_date or business_day(partner, payment.created_at)
        if await self._ledger.is_closed(partner.partner_id, paid_day):
            raise NotReversible(
                f"the payment's business day {paid_day} is settled; it can no longer be reversed",
                [FieldProblem("payment_reference", "settled")],
            )
        if payment.status == "pending":
            await self._make_definite(payment)
        # Claimed before the inbox row: two reversals racing on one reference cannot both win.
        _same_reversal(await self._ledger.claim_reversal_reference(reversal_reference), fingerprint)
        payload = PaymentReversed(
            nik=payment.member_key,
            original_partner_ref=request.payment_reference,
            reason=request.reason,
            reversed_at=now,
        )
        try:
            new = self._new_request(
                partner,
                "reversal",
                request.payment_reference,
                fingerprint,
                payload,
                occurred_at=now,
                partner_ref=request.reference,
                received_at=now,
                settlement=SettlementFacts(business_date=business_day(partner, now)),
            )
            accepted = await self._accept(partner, new, partner_ref=request.reference)
        except ReferenceConflict:
            raise AlreadyReversed(
                f"payment {request.payment_reference!r} was already reversed"
            ) from None
        return Acceptance(request.reference, accepted.hub_reference)

    async def _held(
        self, partner: Partner, kind: RequestKind, reference: str
    ) -> ClaimedRequest | None:
        """This partner's request of ``kind`` under ``reference``, as the inbox holds it."""
        return sent_by(partner, await self._ledger.find(partner.partner_id, kind, reference))

    async def _make_definite(self, held: ClaimedRequest) -> None:
        """Make a request the hub never acknowledged definite: publish its stored event.

        Its partner was told "try again" (the broker did not acknowledge in time), or no
        answer reached it, or the answer is being sent. The broker may still have taken the
        event (a producer keeps what it was given and delivers it once the broker is back),
        and the consumer would then apply it. A payment in doubt is made definite before
        its reversal (answering "no such payment" would leave the cash handed back and the
        contribution counted), a reversal in doubt before a retry of its payment is told
        "reversed". The same event id as every earlier try, so it is applied once, and on
        the member's partition ahead of what follows. A broker still away: "try again".
        """
        await self._publisher.publish(held.member_key, held.event_json.encode())
        await self._ledger.mark_accepted(held.event_id, self._clock())
        log.info("%s in doubt made definite", held.kind)

    async def status(self, partner: Partner, kind: RequestKind, reference: str) -> RequestView:
        """A request's status, for the partner that sent it and no one else.

        One held but never acknowledged (``pending``) is in doubt, not unknown: "not found"
        would tell its partner nothing was taken, and the broker may yet deliver it.
        """
        claimed = await self._held(partner, kind, reference)
        if claimed is None:
            raise NotFound(f"no {kind} with reference {reference!r} was accepted from you")
        if claimed.status == "pending":
            raise InDoubt(
                f"the {kind} with reference {reference!r} is not settled yet: ask again in a "
                "moment, or send it again with the same reference"
            )
        return RequestView.of(claimed)

    async def payment_to_reverse(self, partner: Partner, reference: str) -> RequestView:
        """The payment a reversal would take back: acknowledged, or in doubt (``pending``:
        its partner was told to try again, and the broker may have taken it all the same).

        Raises ``NotFound`` only for a payment the hub never held from this partner.
        """
        claimed = await self._held(partner, "payment", reference)
        if claimed is None:
            raise _not_received(reference)
        return RequestView.of(claimed)

    async def reversal_of(self, partner: Partner, payment_reference: str) -> RequestView | None:
        """The reversal of one of this partner's payments, if one was accepted.

        One held but never acknowledged is in doubt, not absent: "no reversal" would tell
        the partner the payment stands, and the broker may yet deliver the reversal.
        """
        claimed = await self._held(partner, "reversal", payment_reference)
        if claimed is None:
            return None
        if claimed.status == "pending":
            raise InDoubt(
                f"the reversal of payment {payment_reference!r} is not settled yet: ask again "
                "in a moment, or send the reversal again"
            )
        return RequestView.of(claimed)

    async def _member(self, nik: str | None, payment_code: str | None) -> MemberTerms:
        if nik is not None:
            terms = await self._ledger.member_terms(nik)
            if terms is None:
                raise NotFound(f"no member or accepted registration for NIK {nik}")
            return terms
        kpj = self._codes.kpj_of(payment_code or "")
        terms = None if kpj is None else await self._ledger.member_terms_by_kpj(kpj)
        if terms is None:
            raise NotFound(f"no member with payment code {payment_code}")
        return terms

    def _bill(self, terms: MemberTerms, months: int) -> InquiryAnswer:
        monthly = self._schedule.amount_due(terms.declared_income, terms.programmes, 1)
        self._schedule.check_months(months)
        now = self._clock()
        this_month = self._rules.calendar.month_of(now)
        coverage = _coverage(terms, this_month)
        plan = self._rules.quote(coverage, now, months)
        limit = add_months(this_month, self._schedule.max_months_ahead)
        if plan.covers_through > limit:
            raise AlreadyPaid(
                f"already paid through {terms.paid_through:%Y-%m}; {months} more month(s) would "
                f"go beyond {limit:%Y-%m}, the furthest ahead a member may pay",
                [
                    FieldProblem(
                        "months", f"at most {_months_between(plan.months_from, limit) + 1} now"
                    )
                ],
            )
        return InquiryAnswer(
            nik=terms.nik,
            kpj=terms.kpj,
            payment_code=None if terms.kpj is None else self._codes.for_kpj(terms.kpj),
            masked_name=mask_name(terms.full_name),
            programmes=terms.programmes,
            member_status=self._member_status(terms, coverage, now),
            paid_through=terms.paid_through,
            months=months,
            monthly_amount=monthly,
            covers_from=plan.covers_from,
            covers_through=plan.covers_through,
            amount_due=monthly * plan.total_months,
            arrears_months=plan.arrears_months,
        )

    def _member_status(self, terms: MemberTerms, coverage: Coverage, now: datetime) -> MemberStatus:
        if terms.registered_month is None:
            return "pending"
        today = self._rules.calendar.today(now)
        return "active" if self._rules.is_active(coverage, today) else "inactive"

    def _new_request(
        self,
        partner: Partner,
        kind: RequestKind,
        reference: str,
        fingerprint: str,
        payload: EventPayload,
        occurred_at: datetime,
        partner_ref: str | None = None,
        received_at: datetime | None = None,
        settlement: SettlementFacts | None = None,
    ) -> NewRequest:
        """The inbox row of a request, holding its event as it will be published."""
        received_at = received_at or self._clock()
        event_id = event_id_for(partner.partner_id, kind, reference)
        return NewRequest(
            partner_id=partner.partner_id,
            kind=kind,
            reference=reference,
            request_hash=fingerprint,
            event_id=event_id,
            hub_reference=hub_reference_for(kind, event_id),
            member_key=payload.nik,
            # From a validated payload and the hub's own header fields: written once (the
            # stored event is what is published and re-driven).
            event_json=envelope_json(
                partner, event_id, partner_ref or reference, occurred_at, received_at, payload
            ),
            received_at=received_at,
            settlement=settlement,
            agent_id=partner.agent_id,
        )

    async def _accept(
        self, partner: Partner, new: NewRequest, partner_ref: str | None = None
    ) -> Acceptance:
        """Claim the request's reference and publish its event, or answer as the first time.

        ``partner_ref``: the partner's own reference, where the inbox holds the request
        under another (a reversal, under its payment's).
        """
        claimed = await self._ledger.claim(new)
        kind, reference = new.kind, new.reference
        with bound_request(
            partner_id=partner.partner_id,
            channel=partner.channel,
            reference=partner_ref or reference,
            hub_reference=claimed.hub_reference,
            event_id=claimed.event_id,
            **({} if partner.agent_id is None else {"agent_id": partner.agent_id}),
        ):
            if claimed.request_hash != new.request_hash:
                log.info("%s reference reused with different content", kind)
                raise ReferenceConflict(
                    f"reference {reference!r} was already used for a different {kind}"
                )
            if claimed.status == "pending":
                if kind == "payment" and await self._ledger.reversal_named(
                    partner.partner_id, reference, partner.agent_id
                ):
                    # Its partner reversed it before it reached the hub (or while it was
                    # unanswered): it is never applied. Looked up after the claim, which
                    # a reversal looks for after it is remembered: one of them sees the other.
                    log.info("payment refused: its reversal came first")
                    raise AlreadyReversed(f"payment {reference!r} was reversed")
                # First attempt, a concurrent twin, or a retry after a 503: (re)publish the
                # stored event. Same event id every time, so the consumer applies it once.
                await self._publisher.publish(claimed.member_key, claimed.event_json.encode())
                await self._ledger.mark_accepted(claimed.event_id, self._clock())
                info_line(log, f"{kind} accepted")
            else:
                await self._redrive_if_lost(claimed)
        return Acceptance(claimed.reference, claimed.hub_reference, kpj=claimed.kpj)

    async def _redrive_if_lost(self, claimed: ClaimedRequest) -> None:
        """A retry of a request accepted long ago and still unrecorded re-drives it at once.

        Its event may have been lost with a broker's data; the partner retrying is the
        earliest sign, so the stored event is published again now rather than at the next
        round of the re-drive loop. The same event id keeps it harmless.
        """
        if claimed.status != "accepted" or claimed.updated_at is None:
            return
        if self._clock() - _aware(claimed.updated_at) < self._redrive_after:
            return
        await self._publisher.publish(claimed.member_key, claimed.event_json.encode())
        await self._ledger.mark_accepted(claimed.event_id, self._clock())
        metrics.count_redrive("retry")


ACKS_TRAIL_BATCHES = 2
"""How many batches of a file a batch's acknowledgements trail behind (``FileSubmission``)."""


class FileSubmission:
    """The rows of one batch file, submitted a batch at a time and answered together.

    Each batch is claimed and published at once (``IntakeService._submit_batch``), but
    its rows are marked accepted only ``ACKS_TRAIL_BATCHES`` batches later. By then
    the core consumer has recorded nearly all of them, and marking a recorded row
    accepted writes nothing; marked at once, most rows were written accepted first and
    recorded after, each row twice (and entered in, then taken off, the unrecorded list).
    ``settle`` marks the rest, and the file's answer waits for it: the partner hears of
    no row before it is marked, as with any request. Until then a row is ``pending``,
    which a status call answers "try again", and a file sent again publishes it again
    (the same event id), as when a process dies before its answer.

    Batches may be submitted while others are under way (an upload keeps two in
    intake): each is claimed only once the batches submitted before it are, so the
    file's first row with a reference claims it, while the batch before is published.
    A later batch may find a reference of that batch pending and not yet acknowledged,
    and publish its event too: the same event id, which the consumer applies once.
    """

    def __init__(self, intake: IntakeService, partner: Partner) -> None:
        self._intake = intake
        self._partner = partner
        self._trailing: deque[list[tuple[UUID, datetime]]] = deque()
        self._claim_turn = asyncio.Lock()
        self._unmarked: set[UUID] = set()
        """The events of ``_trailing``: a later row with the same reference finds its row
        pending, and is answered as accepted rather than publishing it again."""

    async def submit(self, requests: Sequence[RegistrationRequest]) -> list[Acceptance | HubError]:
        """One batch of the file: each row's answer, in order."""
        answers, acknowledged = await self._intake._submit_batch(
            self._partner, requests, self._unmarked, self._claim_turn
        )
        self._trailing.append(acknowledged)
        self._unmarked.update(event_id for event_id, _ in acknowledged)
        while len(self._trailing) > ACKS_TRAIL_BATCHES:
            await self._mark(self._trailing.popleft())
        return answers

    async def settle(self) -> None:
        """Mark every row published so far accepted: before the file is answered, or when
        it is refused part way (the rows published so far stay accepted)."""
        while self._trailing:
            await self._mark(self._trailing.popleft())

    async def _mark(self, acknowledged: list[tuple[UUID, datetime]]) -> None:
        await self._intake._acknowledge(acknowledged)
        self._unmarked.difference_update(event_id for event_id, _ in acknowledged)


def _registration_event(request: RegistrationRequest) -> RegistrationSubmitted:
    """The event of a registration: the request was validated as an Applicant already, so
    the event takes its fields as they are rather than validating them all over again."""
    given = request.__dict__
    values = {name: given[name] for name in _APPLICANT_FIELDS}
    values["event_type"] = "RegistrationSubmitted"  # the event's own field, after the form's
    return trusted(RegistrationSubmitted, values)


def _count_batch(
    channel: str, operation: str, outcomes: Sequence[Acceptance | HubError], seconds: float
) -> None:
    """Count each request of a batch by its outcome, as ``_observed`` counts one."""
    counted = Counter(_outcome_name(outcome) for outcome in outcomes)
    for name, count in counted.items():
        metrics.REQUESTS.labels(channel, operation, name).inc(count)
    if counted["unavailable"]:
        metrics.UNAVAILABLE.labels(channel, operation).inc(counted["unavailable"])
    duration = metrics.REQUEST_SECONDS.labels(channel, operation)
    for _ in outcomes:  # one observation per request: the histogram counts requests
        duration.observe(seconds)


def _outcome_name(outcome: Acceptance | HubError) -> str:
    if isinstance(outcome, Acceptance):
        return "accepted"
    if isinstance(outcome, BrokerUnavailable):
        return "unavailable"
    if isinstance(outcome, InvalidRequest):
        return "invalid"
    if isinstance(outcome, ReferenceConflict):
        return "conflict"
    return "refused"


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _coverage(terms: MemberTerms, this_month: date) -> Coverage:
    """The member's coverage; a registration not yet recorded starts this month."""
    start = terms.period_start or terms.registered_month or this_month
    return Coverage(terms.paid_through, start)


def _not_received(payment_reference: str) -> NotFound:
    return NotFound(f"no payment with reference {payment_reference!r} was received from you")


def _same_reversal(held: ReversalReference, fingerprint: str) -> None:
    """A reversal reference already held for another payment is a conflict, never a second void."""
    if held.request_hash != fingerprint:
        raise ReferenceConflict(
            f"reversal reference {held.reference!r} was already used to reverse payment "
            f"{held.payment_reference!r}"
        )


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month
