"""Reconciliation in the membership store: the hub's side of a day, runs, exceptions, decisions."""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.ops import audit
from hub.reconciliation.matcher import ExceptionLine, HubDay
from hub.settlement.book import LINE_COLUMNS, PAYMENTS, counted_payments
from hub.settlement.statement import StatementLine
from hub.store.bulk import insert_rows
from hub.store.tables import (
    reconciliation_decisions,
    reconciliation_exceptions,
    reconciliation_runs,
)


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    partner_id: str
    business_date: date
    file_name: str
    file_sha256: str
    file_format: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    output_dir: str
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StoredException:
    run_id: int
    line: str
    category: str
    reference: str | None
    nik: str | None
    payment_code: str | None
    months: int | None
    amount: int | None
    paid_at: datetime | None
    hub_reference: str | None
    hub_amount: int | None
    hub_paid_at: datetime | None
    hub_business_date: date | None
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    run_id: int
    line: str
    category: str
    decision: str
    decided_by: str
    reason: str
    decided_at: datetime
    payment_reference: str | None
    hub_reference: str | None


_DAY_SQL = """
SELECT p.reference, p.amount, CAST(EXTRACT(EPOCH FROM p.paid_at) AS bigint),
       r.id IS NOT NULL, p.member_key
FROM partner_requests p
LEFT JOIN partner_requests r
  ON r.partner_id = p.partner_id AND r.kind = 'reversal' AND r.reference = p.reference
 AND r.status IN ('accepted', 'recorded')
WHERE p.partner_id = $1 AND p.business_date = $2 AND p.kind = 'payment'
  AND p.status IN ('accepted', 'recorded')
"""
"""The hub's side of a partner-day, for asyncpg's cursor (the fast path on PostgreSQL)."""


class ReconciliationStore:
    """Reads the hub's side of a partner-day and keeps runs, exceptions and decisions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def load_day(self, partner_id: str, day: date, keep_members: bool) -> HubDay:
        """The partner's payments dated ``day``, streamed into a compact ``HubDay``."""
        hub = HubDay(keep_members=keep_members)
        add = hub.add
        async with self._engine.connect() as conn:
            if self._postgres:
                # asyncpg's own cursor: a million rows without building a Row object each.
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                async with driver.transaction():
                    async for record in driver.cursor(_DAY_SQL, partner_id, day, prefetch=20_000):
                        add(record[0], record[1], record[2], record[3], record[4])
                return hub
            p = PAYMENTS
            query = counted_payments(
                partner_id, p.c.reference, p.c.amount, p.c.paid_at, p.c.member_key
            ).where(p.c.business_date == day)
            for reference, amount, paid_at, nik, was_reversed in await conn.execute(query):
                moment = paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=UTC)
                add(reference, amount, int(moment.timestamp()), bool(was_reversed), nik)
        return hub

    async def payments(
        self, partner_id: str, references: Sequence[str]
    ) -> dict[str, StatementLine]:
        """The partner's accepted payments under these references, whatever their day."""
        found: dict[str, StatementLine] = {}
        p = PAYMENTS
        for start in range(0, len(references), 5000):
            chunk = list(references[start : start + 5000])
            if self._postgres:
                among = p.c.reference == sa.any_(
                    sa.bindparam("refs", chunk, type_=postgresql.ARRAY(sa.String()))
                )
            else:
                among = p.c.reference.in_(chunk)
            query = counted_payments(partner_id, *LINE_COLUMNS).where(among)
            async with self._engine.connect() as conn:
                for row in await conn.execute(query):
                    found[row.reference] = StatementLine.from_row(row)
        return found

    async def start_run(
        self,
        partner_id: str,
        day: date,
        file_name: str,
        file_format: str,
        by: str,
        now: datetime,
        output_dir: str,
    ) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                reconciliation_runs.insert()
                .values(
                    partner_id=partner_id,
                    business_date=day,
                    file_name=file_name[:255],
                    file_sha256="",
                    file_format=file_format,
                    started_by=by,
                    started_at=now,
                    status="running",
                    output_dir=output_dir,
                )
                .returning(reconciliation_runs.c.id)
            )
            return int(result.scalar_one())

    async def finish_run(
        self,
        run_id: int,
        sha256: str,
        summary: dict[str, Any],
        exceptions: Sequence[ExceptionLine],
        now: datetime,
        via: str = "cli",
    ) -> None:
        """Keep the run's summary and exceptions; the run is in the audit log with them."""
        rows = [_exception_row(run_id, e) for e in exceptions]
        async with self._engine.begin() as conn:
            await audit.record(
                conn,
                operator=summary["started_by"],
                action="reconciliation.run",
                target=f"run {run_id}: {summary['partner_id']} {summary['business_date']}",
                reason=f"settlement file {summary['file']['name']}",
                outcome="exceptions" if exceptions else "matched",
                detail={
                    "file_sha256": sha256,
                    "lines": summary["file"]["lines"],
                    "exceptions": len(exceptions),
                },
                via=via,
                at=now,
            )
            for start in range(0, len(rows), 2000):
                await insert_rows(conn, reconciliation_exceptions, rows[start : start + 2000])
            await conn.execute(
                reconciliation_runs.update()
                .where(reconciliation_runs.c.id == run_id)
                .values(
                    file_sha256=sha256,
                    summary_json=json.dumps(summary),
                    status="exceptions" if exceptions else "matched",
                    finished_at=now,
                )
            )

    async def fail_run(self, run_id: int, error: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                reconciliation_runs.update()
                .where(reconciliation_runs.c.id == run_id)
                .values(status="failed", summary_json=json.dumps({"error": error}), finished_at=now)
            )

    async def run(self, run_id: int) -> RunRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(reconciliation_runs).filter_by(id=run_id))).first()
        return None if row is None else _run(row)

    async def recent_runs(self, limit: int = 50) -> list[RunRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(reconciliation_runs)
                .order_by(reconciliation_runs.c.id.desc())
                .limit(limit)
            )
            return [_run(r) for r in rows]

    async def exceptions(self, run_id: int, limit: int = 1000) -> list[StoredException]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(reconciliation_exceptions)
                .where(reconciliation_exceptions.c.run_id == run_id)
                .limit(limit)
            )
            return [StoredException(**r._mapping) for r in rows]

    async def exception(self, run_id: int, line: str) -> StoredException | None:
        async with self._engine.connect() as conn:
            query = sa.select(reconciliation_exceptions).filter_by(run_id=run_id, line=line)
            row = (await conn.execute(query)).first()
        return None if row is None else StoredException(**row._mapping)

    async def decide(self, decision: Decision, via: str = "cli") -> Decision:
        """Record a decision on a line, and in the audit log in the same transaction.

        A line has one decision: a repeat returns the first and records nothing.
        """
        async with self._engine.begin() as conn:
            inserted = await insert_rows(
                conn,
                reconciliation_decisions,
                [asdict(decision)],
                skip_conflicts_on=("run_id", "line"),
                returning=("id",),
            )
            if inserted:
                await audit.record(
                    conn,
                    operator=decision.decided_by,
                    action="reconciliation.decide",
                    target=f"run {decision.run_id} line {decision.line}",
                    reason=decision.reason,
                    outcome="ok",
                    detail={
                        "category": decision.category,
                        "decision": decision.decision,
                        "payment_reference": decision.payment_reference,
                        "hub_reference": decision.hub_reference,
                    },
                    via=via,
                    at=decision.decided_at,
                )
        held = await self.decision(decision.run_id, decision.line)
        assert held is not None
        return held

    async def decision(self, run_id: int, line: str) -> Decision | None:
        columns = [c for c in reconciliation_decisions.c if c.name != "id"]
        async with self._engine.connect() as conn:
            query = sa.select(*columns).filter_by(run_id=run_id, line=line)
            row = (await conn.execute(query)).first()
        return None if row is None else Decision(**row._mapping)

    async def decisions(self, run_id: int) -> list[Decision]:
        columns = [c for c in reconciliation_decisions.c if c.name != "id"]
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(*columns)
                .where(reconciliation_decisions.c.run_id == run_id)
                .order_by(reconciliation_decisions.c.id)
            )
            return [Decision(**r._mapping) for r in rows]


def _run(row: Any) -> RunRecord:
    columns = dict(row._mapping)
    summary = columns.pop("summary_json")
    return RunRecord(**columns, summary=None if summary is None else json.loads(summary))


def _exception_row(run_id: int, e: ExceptionLine) -> dict[str, Any]:
    line = e.partner
    hub = e.hub
    return {
        "run_id": run_id,
        "line": e.line,
        "category": e.category,
        "reference": e.reference,
        "nik": (line.nik if line else None) or (hub.nik if hub else None),
        "payment_code": line.payment_code if line else None,
        "months": line.months if line else None,
        "amount": line.amount if line else None,
        "paid_at": line.paid_at if line else None,
        "hub_reference": hub.hub_reference if hub else None,
        "hub_amount": e.hub_amount,
        "hub_paid_at": hub.paid_at if hub else None,
        "hub_business_date": hub.business_date if hub else None,
        "detail": e.detail,
    }
