"""The recording service: a batch of canonical events into the membership store.

One unit of work per batch, in one transaction: claim the event ids
(``processed_events``: events seen before are skipped, so a replayed partition changes
nothing), load the members and contributions they touch, apply the pure rules
(``hub.membership.apply``) in Kafka order, and save what changed: members and
contributions, each request's outcome in the inbox, and the callbacks that report them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.callbacks.notifications import notice_for
from hub.callbacks.outbox import CallbackPolicy
from hub.membership.apply import Batch, Outcome, apply_event
from hub.membership.coverage import CoverageRules
from hub.membership.schedule import ContributionSchedule
from hub.store import members as member_store
from hub.store.bulk import insert_rows
from hub.store.database import connect_ahead
from hub.store.inbox import record_outcomes, reject_unrecorded
from hub.store.processed import SeenBefore, claim_events, mark_rejected
from hub.store.tables import callback_deliveries
from schemas.events import EventEnvelope

_PLANNED_FOR_THIS_BATCH = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")
"""Each of the batch's statements is planned for the batch and the tables as they are now.

The statements are prepared once per connection, and after five runs PostgreSQL may keep
one generic plan for them, costed with the statistics of that moment. A store that
starts empty gets a sequential scan of ``members`` for the lookups by NIK and KPJ, and
keeps it while the table grows until autovacuum next analyses it: 10 ms a batch at
8,000 members, 100 ms at 50,000 (measured). Planning each statement costs a fraction of
a millisecond per batch of up to ``kafka_consumer_max_batch`` events. ``SET LOCAL``
ends with the transaction, so the API's statements on the same pool keep their plans."""


class IncomingEvent(msgspec.Struct, frozen=True):
    """An event as read from Kafka, with where it came from: one for every event, so a
    msgspec struct (``hub.intake.ports.InboxEntry`` says why)."""

    envelope: EventEnvelope
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    recorded: int
    rejected: int
    duplicates: int


class RecordingService:
    """Applies batches of events to members, contributions and the request inbox."""

    def __init__(
        self,
        engine: AsyncEngine,
        schedule: ContributionSchedule,
        rules: CoverageRules,
        callbacks: CallbackPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._schedule = schedule
        self._rules = rules
        self._callbacks = callbacks or CallbackPolicy({})

    async def connect_ahead(self, transactions: int) -> None:
        """Open the store connections of the first ``transactions`` batches now,
        while the consumer joins its group: they are made before the first batch arrives."""
        await connect_ahead(self._engine, transactions)

    @property
    def takes_concurrent_batches(self) -> bool:
        """Whether batches of different members may be applied in concurrent transactions.

        PostgreSQL: yes (member ids come from a sequence, rows of different members never
        meet). SQLite has one writer and numbers members by ``max(id)``: one at a time."""
        return self._engine.dialect.name == "postgresql"

    async def apply(self, events: Sequence[IncomingEvent]) -> BatchResult:
        """Apply ``events`` in one transaction; events applied before change nothing.

        A batch is first claimed as events never seen, the cheaper claim. One that holds
        an event seen before (a partition replayed after a restart or a rebalance, an
        event published again) fails that claim, and is applied again from the start in
        a new transaction, which claims what it can and skips the rest.
        """
        try:
            return await self._apply_in_transaction(events, first_sight=True)
        except SeenBefore:
            return await self._apply_in_transaction(events, first_sight=False)

    async def _apply_in_transaction(
        self, events: Sequence[IncomingEvent], first_sight: bool
    ) -> BatchResult:
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(_PLANNED_FOR_THIS_BATCH)
            return await self._apply(conn, events, first_sight)

    async def _apply(
        self, conn: AsyncConnection, events: Sequence[IncomingEvent], first_sight: bool
    ) -> BatchResult:
        now = datetime.now(UTC)
        claimed = await claim_events(
            conn,
            [(e.envelope.event_id, e.envelope.event_type, e.partition, e.offset) for e in events],
            now,
            first_sight,
        )
        fresh: list[EventEnvelope] = []
        for event in events:
            if event.envelope.event_id in claimed:
                claimed.discard(event.envelope.event_id)  # twice in the batch: once
                fresh.append(event.envelope)
        if not fresh:
            return BatchResult(0, 0, len(events))

        batch = Batch(
            members=await member_store.load_members(conn, {e.member_key for e in fresh}),
            contributions={},
        )
        batch.contributions = await member_store.load_contributions(
            conn, fresh, batch.members, batch.history
        )
        for envelope in fresh:
            apply_event(batch, envelope, self._schedule, self._rules)

        await member_store.insert_members(conn, batch.new_members, now)
        await member_store.update_members(conn, batch, now)
        await member_store.write_contributions(conn, batch, now)
        rejected = [o.envelope.event_id for o in batch.outcomes if o.status == "rejected"]
        await mark_rejected(conn, rejected)
        await record_outcomes(
            conn,
            [
                (
                    o.envelope.event_id,
                    o.status,
                    o.member.kpj if o.member and o.status == "recorded" else None,
                    o.reason,
                )
                for o in batch.outcomes
            ],
            now,
        )
        await member_store.record_pending_changes(conn, batch, now)
        await member_store.record_membership_changes(conn, batch, now)
        # The callback outbox, in the same transaction as the outcomes it reports.
        await insert_rows(
            conn,
            callback_deliveries,
            self._callbacks.rows_for(batch.outcomes, now),
            skip_conflicts_on=("notification_id",),
        )
        return BatchResult(len(fresh) - len(rejected), len(rejected), len(events) - len(fresh))

    async def reject_dead_letters(self, reasons: Mapping[UUID, str]) -> int:
        """Requests whose events went to the dead-letter topic: rejected, with the reason.

        Only requests not yet recorded change, and the partner gets its registration or payment
        callback, so nobody is left looking at "accepted" for an event that will never be
        recorded. Returns how many requests changed.
        """
        now = datetime.now(UTC)
        changed = 0
        async with self._engine.begin() as conn:
            for event_id in sorted(reasons):
                reason = reasons[event_id][:1000]
                request = await reject_unrecorded(conn, event_id, reason, now)
                if request is None:
                    continue
                changed += 1
                partner_id, event_json = request
                outcome = Outcome(
                    EventEnvelope.model_validate_json(event_json), "rejected", None, reason
                )
                notice = notice_for(outcome, now)
                if notice is not None and partner_id in self._callbacks.urls:
                    await insert_rows(
                        conn,
                        callback_deliveries,
                        [self._callbacks.row(notice, partner_id, now)],
                        skip_conflicts_on=("notification_id",),
                    )
        return changed
