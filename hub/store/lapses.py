"""Which members have lapsed, and since when: what an operator lists with ``hub members lapsed``.

A lapse is a fact of the calendar (more than ``lapse_after_months`` overdue months),
true from its day on whether or not an event has come since; the ``lapsed`` history
row is written on the member's next event (``members.lapsed_on`` then holds the day).
So this list computes the lapse from each member's coverage, and says whether the
history row exists yet.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.membership.coverage import Coverage, CoverageRules, add_months
from hub.store.tables import members


@dataclass(frozen=True, slots=True)
class LapsedMember:
    kpj: str
    paid_through: date
    period_start: date
    lapsed_on: date
    recorded: bool
    """A ``lapsed`` member_history row exists (written on the member's next event)."""


async def lapsed_members(
    engine: AsyncEngine, rules: CoverageRules, today: date
) -> AsyncIterator[LapsedMember]:
    """Members lapsed by ``today``, longest lapsed first, streamed from the store."""
    # Only a member paid through at least lapse_after_months + 1 months ago can have lapsed.
    latest = add_months(today.replace(day=1), -(rules.policy.lapse_after_months + 1))
    query = (
        sa.select(
            members.c.kpj,
            members.c.paid_through,
            members.c.period_start,
            members.c.registered_month,
            members.c.lapsed_on,
        )
        .where(members.c.paid_through <= latest)
        .order_by(members.c.paid_through, members.c.id)
    )
    async with engine.connect() as conn:
        rows = await conn.stream(query.execution_options(yield_per=1000))
        async for row in rows:
            coverage = Coverage(row.paid_through, row.period_start or row.registered_month)
            lapsed_on = rules.lapsed_on(coverage, today)
            if lapsed_on is None:
                continue
            yield LapsedMember(
                kpj=row.kpj,
                paid_through=row.paid_through,
                period_start=coverage.period_start,
                lapsed_on=lapsed_on,
                recorded=row.lapsed_on == lapsed_on,
            )
