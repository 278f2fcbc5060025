"""Settlement in the store: closing a partner's day, its totals, its statement lines."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.settlement.business_day import first_open_day
from hub.settlement.statement import DayTotals, StatementLine
from hub.store.tables import partner_requests, settlement_days

_COUNTED = ("accepted", "recorded")
"""Inbox statuses of requests the hub stands behind (pending was never acknowledged;
rejected was refused by the membership rules)."""


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A closed business day and the totals frozen when it was closed."""

    partner_id: str
    business_date: date
    closed_at: datetime
    closed_by: str
    totals: DayTotals
    newly_closed: bool


def with_reversal(payments: Any) -> tuple[Any, sa.ColumnElement[bool]]:
    """``payments`` (an alias of the inbox) outer-joined to each one's reversal, if any.

    (partner, kind, reference) is unique, so a payment has at most one reversal row: a
    join, not a per-row subquery, so PostgreSQL hashes it once for a whole day.
    """
    r = partner_requests.alias("r")
    joined = payments.outerjoin(
        r,
        sa.and_(
            r.c.partner_id == payments.c.partner_id,
            r.c.kind == "reversal",
            r.c.reference == payments.c.reference,
            r.c.status.in_(_COUNTED),
        ),
    )
    return joined, r.c.id.isnot(None)


PAYMENTS = partner_requests.alias("p")
"""The inbox as payments: what every query of counted payments selects from."""

LINE_COLUMNS = (
    PAYMENTS.c.reference,
    PAYMENTS.c.hub_reference,
    PAYMENTS.c.member_key.label("nik"),
    PAYMENTS.c.months,
    PAYMENTS.c.amount,
    PAYMENTS.c.paid_at,
    PAYMENTS.c.business_date,
    PAYMENTS.c.after_close,
    PAYMENTS.c.agent_id,
)
"""What a ``StatementLine`` is read from (with ``reversed``, which ``counted_payments`` adds)."""


def counted_payments(partner_id: str, *columns: Any) -> sa.Select[Any]:
    """The partner's payments the hub stands behind: ``columns`` of ``PAYMENTS``, then
    ``reversed`` (whether each was reversed)."""
    joined, reversed_ = with_reversal(PAYMENTS)
    return (
        sa.select(*columns, reversed_.label("reversed"))
        .select_from(joined)
        .where(
            PAYMENTS.c.partner_id == partner_id,
            PAYMENTS.c.kind == "payment",
            PAYMENTS.c.status.in_(_COUNTED),
        )
    )


def _day_rows(partner_id: str, day: date) -> sa.Select[Any]:
    """Payments dated ``day`` for the partner, each with whether it was reversed."""
    p = PAYMENTS
    return counted_payments(
        partner_id, *LINE_COLUMNS, p.c.amount_jkk, p.c.amount_jkm, p.c.amount_jht
    ).where(p.c.business_date == day)


class SettlementBook:
    """Closed days and statements over the membership store."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def close(self, partner_id: str, day: date, by: str, now: datetime) -> ClosedDay:
        """Close the partner's day: freeze its totals. Closing again changes nothing."""
        async with self._engine.begin() as conn:
            held = await self._closed(conn, partner_id, day)
            if held is not None:
                return held
            if conn.dialect.name == "postgresql":
                # Waits for intake transactions dating rows right now and holds new ones
                # back until the close commits; they then see the day closed (store/ledger).
                await conn.execute(sa.text("LOCK TABLE partner_requests IN SHARE MODE"))
                held = await self._closed(conn, partner_id, day)
                if held is not None:
                    return held
            await self._move_unacknowledged(conn, partner_id, day)
            totals = await self._totals(conn, partner_id, day)
            await conn.execute(
                settlement_days.insert().values(
                    partner_id=partner_id,
                    business_date=day,
                    closed_at=now,
                    closed_by=by,
                    payments=totals.payments,
                    payments_amount=totals.payments_amount,
                    reversals=totals.reversed,
                    reversals_amount=totals.reversed_amount,
                    totals_json=json.dumps(totals.as_json()),
                )
            )
        return ClosedDay(partner_id, day, now, by, totals, newly_closed=True)

    @staticmethod
    async def _move_unacknowledged(conn: AsyncConnection, partner_id: str, day: date) -> None:
        """Requests dated on the day that were never acknowledged go to the next open day.

        A pending row was claimed but not answered with success: its partner was told to
        try again (the broker did not acknowledge in time), or it is being answered now.
        It is not the day's, and the close does not count it; but a retry after the close,
        or the broker delivering the event late, would make it count on a day whose totals
        are frozen, and the day's statement would no longer add up to them. So it is dated
        as a request claimed after the close is: the next open day, flagged ``after_close``.
        """
        later = await conn.execute(
            sa.select(settlement_days.c.business_date).where(
                settlement_days.c.partner_id == partner_id,
                settlement_days.c.business_date > day,
            )
        )
        next_open = first_open_day(day + timedelta(days=1), set(later.scalars()))
        await conn.execute(
            partner_requests.update()
            .where(
                partner_requests.c.partner_id == partner_id,
                partner_requests.c.business_date == day,
                partner_requests.c.status == "pending",
            )
            .values(business_date=next_open, after_close=True)
        )

    async def closed_day(self, partner_id: str, day: date) -> ClosedDay | None:
        async with self._engine.connect() as conn:
            return await self._closed(conn, partner_id, day)

    async def totals(self, partner_id: str, day: date) -> DayTotals:
        """The day's totals now (for a closed day, equal to the frozen ones)."""
        async with self._engine.connect() as conn:
            return await self._totals(conn, partner_id, day)

    async def lines(self, partner_id: str, day: date) -> AsyncIterator[StatementLine]:
        """The day's payments, streamed in the order of their references."""
        query = _day_rows(partner_id, day).order_by(sa.text("reference"))
        async with self._engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=2000))
            async for row in result:
                yield StatementLine.from_row(row)

    async def _closed(self, conn: AsyncConnection, partner_id: str, day: date) -> ClosedDay | None:
        query = sa.select(settlement_days).filter_by(partner_id=partner_id, business_date=day)
        row = (await conn.execute(query)).first()
        if row is None:
            return None
        data = json.loads(row.totals_json)
        totals = DayTotals(
            payments=data["payments"],
            payments_amount=data["payments_amount"],
            reversed=data["reversed"],
            reversed_amount=data["reversed_amount"],
            after_close=data["after_close"],
            programmes=data["programmes"],
        )
        return ClosedDay(partner_id, day, row.closed_at, row.closed_by, totals, newly_closed=False)

    async def _totals(self, conn: AsyncConnection, partner_id: str, day: date) -> DayTotals:
        rows = _day_rows(partner_id, day).subquery()
        one = sa.literal(1)
        zero = sa.literal(0)
        rev = rows.c.reversed
        query = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(rows.c.amount), 0),
            sa.func.coalesce(sa.func.sum(sa.case((rev, one), else_=zero)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((rev, rows.c.amount), else_=zero)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((rows.c.after_close, one), else_=zero)), 0),
            *(
                sa.func.coalesce(sa.func.sum(sa.case((rev, zero), else_=column)), 0)
                for column in (rows.c.amount_jkk, rows.c.amount_jkm, rows.c.amount_jht)
            ),
            *(
                sa.func.coalesce(sa.func.sum(sa.case((rev, column), else_=zero)), 0)
                for column in (rows.c.amount_jkk, rows.c.amount_jkm, rows.c.amount_jht)
            ),
        )
        values = [int(v) for v in (await conn.execute(query)).one()]
        count, amount, reversed_count, reversed_amount, after_close = values[:5]
        net, taken_back = values[5:8], values[8:11]
        totals = DayTotals(count, amount, reversed_count, reversed_amount, after_close)
        for i, programme in enumerate(("JKK", "JKM", "JHT")):
            totals.programmes[programme] = {
                "payments": net[i] + taken_back[i],
                "reversed": taken_back[i],
                "net": net[i],
            }
        return totals
