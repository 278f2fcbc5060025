"""Applying canonical events to members, in memory, in Kafka order.

The store loads the members a batch touches, this module decides what each
event does to them, and the store writes the result in one transaction.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from uuid import UUID

from hub.membership.coverage import add_months, extend_coverage, local_month
from hub.membership.schedule import ContributionSchedule
from schemas.events import (
    ContributionPaid,
    EventEnvelope,
    PaymentReversed,
    RegistrationSubmitted,
)


@dataclass(slots=True)
class MemberRecord:
    """A member as the store holds it; ``member_id`` is None until the store assigns it."""

    nik: str
    full_name: str
    birth_date: date
    sex: str
    phone: str
    address: str
    occupation: str
    declared_income: int
    programmes: tuple[str, ...]
    paid_through: date | None
    registered_month: date
    registered_channel: str
    registered_partner: str
    registration_event_id: UUID
    member_id: int | None = None
    kpj: str | None = None
    dirty: bool = False


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
    status: Literal["applied", "reversed"] = "applied"
    reversed_at: datetime | None = None
    contribution_id: int | None = None
    dirty: bool = False


@dataclass(frozen=True, slots=True)
class PendingChange:
    """Personal data a later registration disagrees on, kept for review instead of applied."""

    member: MemberRecord
    envelope: EventEnvelope
    field: str
    current_value: str
    proposed_value: str


REVIEWED_FIELDS = (
    "full_name",
    "birth_date",
    "sex",
    "phone",
    "address",
    "occupation",
    "declared_income",
    "programmes",
)
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
    outcomes: list[Outcome] = field(default_factory=list)


def apply_event(batch: Batch, envelope: EventEnvelope, schedule: ContributionSchedule) -> Outcome:
    """Apply one event to the batch's working set and record its outcome."""
    payload = envelope.payload
    if isinstance(payload, RegistrationSubmitted):
        outcome = _register(batch, envelope, payload, schedule)
    elif isinstance(payload, ContributionPaid):
        outcome = _pay(batch, envelope, payload, schedule)
    else:
        outcome = _reverse(batch, envelope, payload)
    batch.outcomes.append(outcome)
    return outcome


def _register(
    batch: Batch,
    envelope: EventEnvelope,
    reg: RegistrationSubmitted,
    schedule: ContributionSchedule,
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
        return Outcome(envelope, "recorded", existing)
    if reg.declared_income not in schedule.income_brackets:
        # Intake checked it, but the bracket table may have changed since (config reload).
        return Outcome(
            envelope, "rejected", reason=f"declared income {reg.declared_income} is not a bracket"
        )
    member = MemberRecord(
        nik=reg.nik,
        full_name=reg.full_name,
        birth_date=reg.birth_date,
        sex=reg.sex,
        phone=reg.phone,
        address=reg.address,
        occupation=reg.occupation,
        declared_income=reg.declared_income,
        programmes=reg.programmes,
        paid_through=None,
        registered_month=local_month(reg.nik, envelope.occurred_at),
        registered_channel=envelope.channel,
        registered_partner=envelope.partner_id,
        registration_event_id=envelope.event_id,
    )
    batch.members[reg.nik] = member
    batch.new_members.append(member)
    return Outcome(envelope, "recorded", member)


def _pay(
    batch: Batch, envelope: EventEnvelope, pay: ContributionPaid, schedule: ContributionSchedule
) -> Outcome:
    member = batch.members.get(pay.nik)
    if member is None:
        return Outcome(envelope, "rejected", reason="no registered member with this NIK")
    due = schedule.amount_due(member.declared_income, member.programmes, pay.months)
    if pay.amount != due:
        return Outcome(
            envelope,
            "rejected",
            member,
            reason=f"amount {pay.amount} does not match the amount due {due}",
        )
    key = (envelope.partner_id, envelope.partner_ref)
    if key in batch.contributions:
        return Outcome(envelope, "recorded", member)
    previous = member.paid_through
    through = extend_coverage(previous, local_month(pay.nik, pay.paid_at), pay.months)
    contribution = ContributionRecord(
        event_id=envelope.event_id,
        member=member,
        channel=envelope.channel,
        partner_id=envelope.partner_id,
        partner_ref=envelope.partner_ref,
        months=pay.months,
        amount=pay.amount,
        paid_at=pay.paid_at,
        covers_from=add_months(through, 1 - pay.months),
        covers_through=through,
        previous_paid_through=previous,
    )
    member.paid_through = through
    member.dirty = True
    batch.contributions[key] = contribution
    batch.new_contributions.append(contribution)
    batch.history.setdefault(pay.nik, []).append(contribution)
    return Outcome(envelope, "recorded", member)


def _reverse(batch: Batch, envelope: EventEnvelope, rev: PaymentReversed) -> Outcome:
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
    # replay the member's later payments, each from the month it was made in.
    history = batch.history.get(member.nik, [])
    position = next((i for i, c in enumerate(history) if c is contribution), len(history))
    later = history[position + 1 :]
    paid_through = contribution.previous_paid_through
    for payment in later:
        if payment.status != "applied":
            continue
        through = extend_coverage(
            paid_through, local_month(member.nik, payment.paid_at), payment.months
        )
        if (payment.previous_paid_through, payment.covers_through) != (paid_through, through):
            payment.previous_paid_through = paid_through
            payment.covers_from = add_months(through, 1 - payment.months)
            payment.covers_through = through
            payment.dirty = True
        paid_through = through
    member.paid_through = paid_through
    member.dirty = True
    return Outcome(envelope, "recorded", member)
