"""Applying canonical events to members, in memory, in Kafka order.

The store loads the members a batch touches, this module decides what each
event does to them, and the store writes the result in one transaction.
"""

import operator
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from hub.membership.coverage import Coverage, CoverageRules
from hub.membership.particulars import Particulars
from hub.membership.schedule import ContributionSchedule
from schemas.events import (
    Applicant,
    ContributionPaid,
    EventEnvelope,
    PaymentReversed,
    RegistrationSubmitted,
)

PERSONAL_FIELDS = (*(f.name for f in fields(Particulars)), "declared_income", "programmes")
"""What a registration form says about a person (``schemas.events.Applicant``), as a
member record holds it: its first fields, in their order (checked below)."""
_personal = operator.attrgetter(*PERSONAL_FIELDS)


@dataclass(slots=True)
class MemberRecord(Particulars):
    """A member as the store holds it: their particulars, then what they pay for and their
    membership; ``member_id`` is None until the store assigns it."""

    declared_income: int
    programmes: tuple[str, ...]
    paid_through: date | None
    registered_month: date
    registered_channel: str
    registered_partner: str
    registration_event_id: UUID
    member_id: int | None = None
    kpj: str | None = None
    period_start: date | None = None
    """First month of the current membership period (the registration month until a lapse)."""
    lapsed_on: date | None = None
    """The day the current period lapsed, once a ``lapsed`` history row says so."""
    registered_agent: str | None = None
    """The agency's agent who registered them, if an agent did."""
    dirty: bool = False

    @classmethod
    def of_applicant(cls, applicant: Applicant, **held: Any) -> "MemberRecord":
        """A member as the form describes them, with what the hub ``held`` about them."""
        return cls(*_personal(applicant), **held)

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.paid_through, self.period_start or self.registered_month)


if tuple(f.name for f in fields(MemberRecord))[: len(PERSONAL_FIELDS)] != PERSONAL_FIELDS:
    raise TypeError("MemberRecord must begin with PERSONAL_FIELDS, in their order")


@dataclass(slots=True)
class ContributionRecord:
    """A payment and the months it covers; ``contribution_id`` None until inserted."""

    event_id: UUID
    member: MemberRecord
    channel: str
    partner_id: str
    partner_ref: str
    months: int
    amount: int
    paid_at: datetime
    covers_from: date
    covers_through: date
    previous_paid_through: date | None
    arrears_months: int = 0
    """Of the months paid, how many settled arrears (the rest are ``months``, asked for)."""
    previous_period_start: date | None = None
    status: Literal["applied", "reversed"] = "applied"
    reversed_at: datetime | None = None
    contribution_id: int | None = None
    agent_id: str | None = None
    """The agency's agent who collected it, if an agent did."""
    dirty: bool = False


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """A change of membership state, kept as a ``member_history`` row.

    ``lapsed`` (the period ended on ``effective_on``; written on the next event
    about the member, which ``envelope`` names) or ``period_start`` (a new period
    began in ``effective_on``'s month, after a lapse, under ``new_period``).
    """

    member: MemberRecord
    envelope: EventEnvelope
    field: Literal["membership", "period_start"]
    old_value: str
    new_value: str
    effective_on: date
    note: str


@dataclass(frozen=True, slots=True)
class PendingChange:
    """Personal data a later registration disagrees on, kept for review instead of applied."""

    member: MemberRecord
    envelope: EventEnvelope
    field: str
    current_value: str
    proposed_value: str


REVIEWED_FIELDS = PERSONAL_FIELDS[1:]
"""What a registration says about a person; a difference from the member row needs review."""


def field_text(value: object) -> str:
    """How a member field is written in review and history rows."""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(slots=True)
class Outcome:
    """What became of one event: recorded (for a member) or rejected with a reason."""

    envelope: EventEnvelope
    status: Literal["recorded", "rejected"]
    member: MemberRecord | None = None
    reason: str | None = None


@dataclass(slots=True)
class Batch:
    """The working set of one consumer batch."""

    members: dict[str, MemberRecord]
    contributions: dict[tuple[str, str], ContributionRecord]
    history: dict[str, list[ContributionRecord]] = field(default_factory=dict)
    """Each member's contributions in the order they were applied (oldest first).

    For a member the batch reverses a payment of, the store loads all of them, so that
    the payments applied after the reversed one can be replayed without it.
    """
    new_members: list[MemberRecord] = field(default_factory=list)
    new_contributions: list[ContributionRecord] = field(default_factory=list)
    pending_changes: list[PendingChange] = field(default_factory=list)
    membership_changes: list[MembershipChange] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def apply_event(
    batch: Batch, envelope: EventEnvelope, schedule: ContributionSchedule, rules: CoverageRules
) -> Outcome:
    """Apply one event to the batch's working set and record its outcome."""
    payload = envelope.payload
    if isinstance(payload, RegistrationSubmitted):
        outcome = _register(batch, envelope, payload, schedule, rules)
    elif isinstance(payload, ContributionPaid):
        outcome = _pay(batch, envelope, payload, schedule, rules)
    else:
        outcome = _reverse(batch, envelope, payload, rules)
    batch.outcomes.append(outcome)
    return outcome


def _register(
    batch: Batch,
    envelope: EventEnvelope,
    reg: RegistrationSubmitted,
    schedule: ContributionSchedule,
    rules: CoverageRules,
) -> Outcome:
    existing = batch.members.get(reg.nik)
    if existing is not None:
        # One member per NIK across channels: the second registration gets the first KPJ,
        # and whatever it says differently waits for review; nothing is overwritten.
        if existing.registration_event_id != envelope.event_id:
            for name in REVIEWED_FIELDS:
                current, proposed = getattr(existing, name), getattr(reg, name)
                if current != proposed:
                    batch.pending_changes.append(
                        PendingChange(
                            existing, envelope, name, field_text(current), field_text(proposed)
                        )
                    )
            _register_again(batch, existing, envelope, rules)
        return Outcome(envelope, "recorded", existing)
    if reg.declared_income not in schedule.income_brackets:
        # Intake checked it, but the bracket table may have changed since (config reload).
        return Outcome(
            envelope, "rejected", reason=f"declared income {reg.declared_income} is not a bracket"
        )
    month = rules.calendar.month_of(envelope.occurred_at)
    member = MemberRecord.of_applicant(
        reg,
        paid_through=None,
        registered_month=month,
        registered_channel=envelope.channel,
        registered_partner=envelope.partner_id,
        registration_event_id=envelope.event_id,
        period_start=month,
        registered_agent=envelope.agent_id,
    )
    batch.members[reg.nik] = member
    batch.new_members.append(member)
    return Outcome(envelope, "recorded", member)


def _register_again(
    batch: Batch, member: MemberRecord, envelope: EventEnvelope, rules: CoverageRules
) -> None:
    """A lapsed member registers again: record the lapse; under ``new_period`` start anew."""
    lapsed_on = rules.lapsed_on(member.coverage, rules.calendar.today(envelope.occurred_at))
    if lapsed_on is None:
        return
    _record_lapse(batch, member, envelope, lapsed_on, rules)
    if rules.policy.after_lapse == "new_period":
        _start_period(batch, member, envelope, rules.calendar.month_of(envelope.occurred_at))


def _record_lapse(
    batch: Batch,
    member: MemberRecord,
    envelope: EventEnvelope,
    lapsed_on: date,
    rules: CoverageRules,
) -> None:
    """Write the ``lapsed`` history row once per lapse, on the first event after it."""
    if member.lapsed_on == lapsed_on:
        return
    member.lapsed_on = lapsed_on
    member.dirty = True
    paid = (
        "never paid" if member.paid_through is None else f"paid through {member.paid_through:%Y-%m}"
    )
    batch.membership_changes.append(
        MembershipChange(
            member,
            envelope,
            "membership",
            "active",
            "lapsed",
            lapsed_on,
            f"{paid}; more than {rules.policy.lapse_after_months} unpaid months; "
            f"recorded on the next event ({envelope.event_type}); "
            f"after_lapse={rules.policy.after_lapse}",
        )
    )


def _start_period(batch: Batch, member: MemberRecord, envelope: EventEnvelope, month: date) -> None:
    old = member.period_start or member.registered_month
    member.period_start = month
    member.lapsed_on = None
    member.dirty = True
    batch.membership_changes.append(
        MembershipChange(
            member,
            envelope,
            "period_start",
            old.isoformat(),
            month.isoformat(),
            month,
            f"new period after a lapse, same KPJ ({envelope.event_type})",
        )
    )


def _pay(
    batch: Batch,
    envelope: EventEnvelope,
    pay: ContributionPaid,
    schedule: ContributionSchedule,
    rules: CoverageRules,
) -> Outcome:
    member = batch.members.get(pay.nik)
    if member is None:
        return Outcome(envelope, "rejected", reason="no registered member with this NIK")
    key = (envelope.partner_id, envelope.partner_ref)
    if key in batch.contributions:
        return Outcome(envelope, "recorded", member)
    monthly = schedule.monthly(member.declared_income, member.programmes).total
    # The money buys whole months: arrears first, oldest first, then the months asked for.
    # Intake quoted arrears + months; should the member's arrears have changed since
    # (another payment got in first), the months bought still all count, in that order.
    total, rest = divmod(pay.amount, monthly)
    if rest or total < pay.months:
        due = schedule.amount_due(member.declared_income, member.programmes, pay.months)
        return Outcome(
            envelope,
            "rejected",
            member,
            reason=f"amount {pay.amount} does not match the amount due {due} "
            f"({pay.months} month(s) of {monthly}, plus any arrears)",
        )
    before = member.coverage
    plan = rules.plan(before, pay.paid_at, total)
    if plan.lapsed_on is not None:
        _record_lapse(batch, member, envelope, plan.lapsed_on, rules)
    if plan.new_period:
        _start_period(batch, member, envelope, plan.covers_from)
    contribution = ContributionRecord(
        event_id=envelope.event_id,
        member=member,
        channel=envelope.channel,
        partner_id=envelope.partner_id,
        partner_ref=envelope.partner_ref,
        months=plan.months,
        amount=pay.amount,
        paid_at=pay.paid_at,
        covers_from=plan.covers_from,
        covers_through=plan.covers_through,
        previous_paid_through=before.paid_through,
        arrears_months=plan.arrears_months,
        previous_period_start=before.period_start,
        agent_id=envelope.agent_id,
    )
    member.paid_through = plan.covers_through
    member.lapsed_on = None
    member.dirty = True
    batch.contributions[key] = contribution
    batch.new_contributions.append(contribution)
    batch.history.setdefault(pay.nik, []).append(contribution)
    return Outcome(envelope, "recorded", member)


def _reverse(
    batch: Batch, envelope: EventEnvelope, rev: PaymentReversed, rules: CoverageRules
) -> Outcome:
    contribution = batch.contributions.get((envelope.partner_id, rev.original_partner_ref))
    if contribution is None or contribution.member.nik != rev.nik:
        return Outcome(envelope, "rejected", reason="no payment with that reference to reverse")
    if contribution.status == "reversed":
        return Outcome(envelope, "rejected", contribution.member, "payment already reversed")
    member = contribution.member
    contribution.status = "reversed"
    contribution.reversed_at = rev.reversed_at
    contribution.dirty = True
    # Coverage as if the payment had never happened: start from where it started and
    # replay the member's later payments, each from the moment it was made, each buying
    # the same number of months, arrears first, as when it was first applied.
    history = batch.history.get(member.nik, [])
    position = next((i for i, c in enumerate(history) if c is contribution), len(history))
    coverage = Coverage(
        contribution.previous_paid_through,
        contribution.previous_period_start or member.period_start or member.registered_month,
    )
    for payment in history[position + 1 :]:
        if payment.status != "applied":
            continue
        plan = rules.plan(coverage, payment.paid_at, payment.arrears_months + payment.months)
        replayed = (
            coverage.paid_through,
            coverage.period_start,
            plan.arrears_months,
            plan.months,
            plan.covers_from,
            plan.covers_through,
        )
        held = (
            payment.previous_paid_through,
            payment.previous_period_start,
            payment.arrears_months,
            payment.months,
            payment.covers_from,
            payment.covers_through,
        )
        if replayed != held:
            payment.previous_paid_through = coverage.paid_through
            payment.previous_period_start = coverage.period_start
            payment.arrears_months = plan.arrears_months
            payment.months = plan.months
            payment.covers_from = plan.covers_from
            payment.covers_through = plan.covers_through
            payment.dirty = True
        coverage = rules.after_payment(coverage, plan)
    member.paid_through = coverage.paid_through
    member.period_start = coverage.period_start
    # Lapsed again if the reversal took back the payment that ended the lapse.
    member.lapsed_on = rules.lapsed_on(coverage, rules.calendar.today(rev.reversed_at))
    member.dirty = True
    return Outcome(envelope, "recorded", member)
