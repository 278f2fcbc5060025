"""Operator actions, each one recorded in the audit table with who, when, what and why.

The CLI (``hub dlq``, ``hub callbacks``, ``hub requests``, ``hub changes``), the ops API
(``/ops/v1``) and the console (``/ops/``) all call these, so an action is the same
action, audited the same way, whichever door it came through.
"""

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.callbacks.log import Attempt, attempts_of
from hub.errors import BrokerUnavailable
from hub.kafka.envelopes import REPLAYED_HEADER
from hub.kafka.ids import request_ids
from hub.observability import metrics
from hub.ops.audit import AuditLog, record
from hub.ops.dead_letters import DeadLetter, DeadLetterTopic
from hub.store.review import ChangeNotPending, MemberReview
from hub.store.tables import (
    callback_deliveries,
    partner_requests,
    processed_events,
    unrecorded_requests,
)
from hub.store.watch import aware

log = logging.getLogger(__name__)

Via = Literal["cli", "api", "console"]


class Republisher(Protocol):
    """Publishes an event to the member-events topic (the hub's KafkaEventPublisher)."""

    async def publish(
        self, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None: ...


class NothingToDo(LookupError):
    """The target is unknown or not in a state the action applies to."""


@dataclass(frozen=True, slots=True)
class Outcome:
    target: str
    ok: bool
    message: str


Action = Callable[[list[str], str, str, Via], Awaitable[list[Outcome]]]
"""An operator action on targets by their ids: (ids, operator, reason, via) -> outcomes."""


@dataclass(frozen=True, slots=True)
class StuckRequest:
    hub_reference: str
    partner_id: str
    kind: str
    reference: str
    event_id: str
    accepted_at: datetime
    age_s: float


@dataclass(frozen=True, slots=True)
class CallbackRow:
    id: int
    notification_id: str
    partner_id: str
    kind: str
    reference: str
    event: str
    url: str
    status: str
    attempts: list[Attempt]
    last_error: str | None
    created_at: datetime
    give_up_at: datetime


S = TypeVar("S")
T = TypeVar("T")


def on_each(
    act: Callable[[S, T, str, str, Via], Awaitable[Outcome]],
) -> Callable[[S, list[T], str, str, Via], Awaitable[list[Outcome]]]:
    """The action on one target as the operator's action on several: each in turn, in the
    order given, each with its own outcome (one refused target does not stop the others)."""

    @functools.wraps(act)
    async def each(
        actions: S, targets: list[T], operator: str, reason: str, via: Via
    ) -> list[Outcome]:
        return [await act(actions, target, operator, reason, via) for target in targets]

    return each


class OperatorActions:
    def __init__(
        self,
        engine: AsyncEngine,
        dead_letters: DeadLetterTopic,
        publisher: Republisher,
        callback_give_up_after_s: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self.engine = engine
        self.dead_letters = dead_letters
        self._publisher = publisher
        self._give_up_after = timedelta(seconds=callback_give_up_after_s)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.audit = AuditLog(engine)
        self.review = MemberReview(engine)

    # --- dead letters ---------------------------------------------------------------

    async def replayed_letters(self) -> set[str]:
        return await self.audit.targets("dlq.replay")

    async def replay(
        self, letter_ids: list[str], operator: str, reason: str, via: Via, dry_run: bool = False
    ) -> list[Outcome]:
        """Publish each dead letter again to the member-events topic, with ``replayed-from``.

        Safe to repeat: the consumer applies an event id once. A dry run says what would be
        replayed and records nothing.
        """
        outcomes = []
        for letter_id in letter_ids:
            try:
                letter = await self.dead_letters.letter(letter_id)
            except LookupError as exc:
                outcomes.append(Outcome(letter_id, False, str(exc)))
                continue
            what = f"event {letter.event_id} ({letter.event_type}) from {letter.source}"
            if dry_run:
                outcomes.append(Outcome(letter_id, True, f"would replay {what}"))
                continue
            outcome = await self._replay_one(letter, operator, reason, via)
            outcomes.append(Outcome(letter_id, outcome is None, outcome or f"replayed {what}"))
        return outcomes

    async def _replay_one(
        self, letter: DeadLetter, operator: str, reason: str, via: Via
    ) -> str | None:
        headers = [
            (REPLAYED_HEADER, f"{self.dead_letters.topic}/{letter.id}".encode()),
            ("replayed-by", operator.encode()),
        ]
        error: str | None = None
        reopened = False
        try:
            if letter.value is None or letter.key is None:
                raise NothingToDo("the dead letter has no event or no key to replay")
            reopened = await self._reopen(letter.event_id)
            await self._publisher.publish(letter.key.decode(), letter.value, headers)
            metrics.DEAD_LETTER_REPLAYS.inc()
        except (BrokerUnavailable, NothingToDo) as exc:
            error = str(exc)
        await self.audit.record(
            operator=operator,
            action="dlq.replay",
            target=letter.id,
            reason=reason,
            outcome="ok" if error is None else "failed",
            detail={
                "event_id": letter.event_id,
                "event_type": letter.event_type,
                "partner_id": letter.partner_id,
                "reference": letter.reference,
                "source": letter.source,
                "error": error,
                "request_reopened": error is None and reopened,
            },
            via=via,
        )
        log.info(
            "dead letter %s replayed by %s",
            letter.id,
            operator,
            extra={**request_ids(letter.value), "outcome": "ok" if error is None else "failed"},
        )
        return error

    async def _reopen(self, event_id: str | None) -> bool:
        """The partner's request, rejected when its event was dead-lettered, is accepted again.

        Only while the event was never applied (not in ``processed_events``): a replay is a
        second chance to record it, and the consumer then records or rejects it as usual.
        If the publish below fails, the request is accepted-but-unrecorded, which the
        re-drive loop republishes: nothing is lost either way.
        """
        if event_id is None:
            return False
        try:
            event = UUID(event_id)
        except ValueError:
            return False
        r = partner_requests
        async with self._engine.begin() as conn:
            applied = (
                await conn.execute(
                    sa.select(processed_events.c.event_id).where(
                        processed_events.c.event_id == event
                    )
                )
            ).first()
            if applied is not None:
                return False
            changed = await conn.execute(
                r.update()
                .where(r.c.event_id == event, r.c.status == "rejected")
                .values(status="accepted", reason=None, updated_at=self._clock())
            )
            return bool(changed.rowcount)

    # --- stuck requests -------------------------------------------------------------

    async def stuck(self, older_than_s: float, limit: int = 500) -> list[StuckRequest]:
        """Accepted (the partner was told so), older than ``older_than_s``, not recorded."""
        now = self._clock()
        r, u = partner_requests, unrecorded_requests
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    r.c.hub_reference,
                    r.c.partner_id,
                    r.c.kind,
                    r.c.reference,
                    r.c.event_id,
                    r.c.created_at,
                )
                .join(u, u.c.request_id == r.c.id)
                .where(u.c.created_at < now - timedelta(seconds=older_than_s))
                .order_by(u.c.created_at)
                .limit(limit)
            )
            found = []
            for row in rows:
                at = aware(row.created_at) or row.created_at
                found.append(
                    StuckRequest(
                        row.hub_reference,
                        row.partner_id,
                        row.kind,
                        row.reference,
                        str(row.event_id),
                        at,
                        (now - at).total_seconds(),
                    )
                )
            return found

    @on_each
    async def redrive(self, hub_reference: str, operator: str, reason: str, via: Via) -> Outcome:
        """Publish the stored event of each accepted-but-unrecorded request again."""
        query = sa.select(partner_requests).filter_by(hub_reference=hub_reference)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or row.status != "accepted":
            message = (
                f"no request {hub_reference}"
                if row is None
                else f"{hub_reference} is {row.status}, not waiting to be recorded"
            )
            return Outcome(hub_reference, False, message)
        error: str | None = None
        try:
            await self._publisher.publish(
                row.member_key,
                row.event_json.encode(),
                [("redriven-by", operator.encode())],
            )
            metrics.count_redrive("operator")
        except BrokerUnavailable as exc:
            error = str(exc)
        await self.audit.record(
            operator=operator,
            action="request.redrive",
            target=hub_reference,
            reason=reason,
            outcome="ok" if error is None else "failed",
            detail={
                "event_id": str(row.event_id),
                "partner_id": row.partner_id,
                "reference": row.reference,
                "error": error,
            },
            via=via,
        )
        log.info(
            "request %s re-driven by %s",
            hub_reference,
            operator,
            extra={
                **request_ids(row.event_json.encode()),
                "outcome": "ok" if error is None else "failed",
            },
        )
        return Outcome(hub_reference, error is None, error or f"event {row.event_id} published")

    # --- callbacks ------------------------------------------------------------------

    async def callbacks(self, status: str = "failed", limit: int = 200) -> list[CallbackRow]:
        """Deliveries in ``status``, newest first, with every attempt."""
        d = callback_deliveries
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(d).where(d.c.status == status).order_by(d.c.id.desc()).limit(limit)
                )
            ).all()
            by_delivery = await attempts_of(conn, [row.id for row in rows])
        return [
            CallbackRow(
                id=row.id,
                notification_id=str(row.notification_id),
                partner_id=row.partner_id,
                kind=row.kind,
                reference=row.reference,
                event=row.event,
                url=row.url,
                status=row.status,
                attempts=by_delivery.get(row.id, []),
                last_error=row.last_error,
                created_at=aware(row.created_at) or row.created_at,
                give_up_at=aware(row.give_up_at) or row.give_up_at,
            )
            for row in rows
        ]

    @on_each
    async def redeliver(self, delivery_id: int, operator: str, reason: str, via: Via) -> Outcome:
        """Put failed callbacks back in the outbox, due now, with a fresh give-up window."""
        d = callback_deliveries
        now = self._clock()
        async with self._engine.begin() as conn:
            changed = (
                await conn.execute(
                    d.update()
                    .where(d.c.id == delivery_id, d.c.status == "failed")
                    .values(
                        status="pending",
                        next_attempt_at=now,
                        lease_until=None,
                        give_up_at=now + self._give_up_after,
                    )
                    .returning(d.c.notification_id, d.c.partner_id, d.c.reference)
                )
            ).first()
            if changed is None:
                return Outcome(str(delivery_id), False, f"no failed callback #{delivery_id}")
            await record(
                conn,
                operator=operator,
                action="callback.redeliver",
                target=str(delivery_id),
                reason=reason,
                outcome="ok",
                detail={
                    "notification_id": str(changed.notification_id),
                    "partner_id": changed.partner_id,
                    "reference": changed.reference,
                },
                via=via,
                at=now,
            )
        return Outcome(str(delivery_id), True, "queued for delivery now")

    # --- member changes -------------------------------------------------------------

    async def decide_change(
        self,
        change_id: int,
        decision: Literal["approved", "rejected"],
        operator: str,
        reason: str,
        via: Via,
    ) -> Outcome:
        try:
            await self.review.decide(change_id, decision, operator)
        except ChangeNotPending as exc:
            return Outcome(str(change_id), False, str(exc))
        await self.audit.record(
            operator=operator,
            action=f"change.{'approve' if decision == 'approved' else 'reject'}",
            target=str(change_id),
            reason=reason,
            outcome="ok",
            detail={},
            via=via,
        )
        return Outcome(str(change_id), True, f"change #{change_id} {decision}")
