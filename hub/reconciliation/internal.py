"""The hub against itself: nothing acknowledged may be lost.

For the requests received on a day (UTC): every accepted request was recorded (or
refused with a reason) and its event id is in ``processed_events``; every recorded
registration is a member and every recorded payment a contribution; and each member's
paid-through month is the last month their applied contributions cover (or, for a
member imported from the agency's core who has not paid through the hub, the month
the import said).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.tables import contributions, members, partner_requests, processed_events


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    partner_id: str
    kind: str
    reference: str
    detail: str


@dataclass(slots=True)
class InternalReport:
    day: date
    checked: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


async def check_day(engine: AsyncEngine, day: date, settle_s: float = 60.0) -> InternalReport:
    """Run every check over the requests received on ``day`` (UTC).

    Requests accepted less than ``settle_s`` ago may still be on their way through the
    consumer; they are not reported as lost.
    """
    start = datetime.combine(day, time(0), UTC)
    end = start + timedelta(days=1)
    settled_before = datetime.now(UTC) - timedelta(seconds=settle_s)
    r = partner_requests
    received = sa.and_(r.c.created_at >= start, r.c.created_at < end)

    def recorded_without(kind: str, its_row: sa.Exists) -> sa.ColumnElement[bool]:
        """A request of ``kind`` the consumer recorded, with no row of its own in the store."""
        return sa.and_(r.c.kind == kind, r.c.status == "recorded", ~its_row)

    report = InternalReport(day)
    async with engine.connect() as conn:
        report.checked["requests"] = int(
            (await conn.execute(sa.select(sa.func.count()).where(received))).scalar_one()
        )
        for check, condition, detail in (
            (
                "accepted_never_recorded",
                sa.and_(r.c.status == "accepted", r.c.updated_at < settled_before),
                "accepted but the consumer never applied it",
            ),
            (
                "event_not_processed",
                sa.and_(
                    r.c.status.in_(("recorded", "rejected")),
                    ~sa.exists().where(processed_events.c.event_id == r.c.event_id),
                ),
                "its event id is not in processed_events",
            ),
            (
                "registration_without_member",
                recorded_without(
                    "registration", sa.exists().where(members.c.nik == r.c.member_key)
                ),
                "recorded, but no member has its NIK",
            ),
            (
                "payment_without_contribution",
                recorded_without(
                    "payment",
                    sa.exists().where(
                        contributions.c.partner_id == r.c.partner_id,
                        contributions.c.partner_ref == r.c.reference,
                    ),
                ),
                "recorded, but no contribution row",
            ),
        ):
            found = await conn.execute(
                sa.select(r.c.partner_id, r.c.kind, r.c.reference).where(received, condition)
            )
            report.findings += [Finding(check, *row, detail) for row in found]
        last_covered = (
            sa.select(
                contributions.c.member_id,
                sa.func.max(contributions.c.covers_through).label("through"),
            )
            .where(contributions.c.status == "applied")
            .group_by(contributions.c.member_id)
            .subquery()
        )
        drift = await conn.execute(
            sa.select(members.c.kpj, members.c.paid_through, last_covered.c.through)
            .select_from(members.outerjoin(last_covered, last_covered.c.member_id == members.c.id))
            .where(
                sa.or_(
                    members.c.paid_through != last_covered.c.through,
                    sa.and_(members.c.paid_through.is_(None), last_covered.c.through.isnot(None)),
                    # A member imported from the agency's core arrives paid through a month
                    # the hub holds no contributions for (`hub members import`).
                    sa.and_(
                        members.c.paid_through.isnot(None),
                        last_covered.c.through.is_(None),
                        members.c.source != "import",
                    ),
                )
            )
        )
        report.findings += [
            Finding(
                "paid_through_disagrees",
                "",
                "member",
                row.kpj,
                f"paid through {row.paid_through}, contributions cover through {row.through}",
            )
            for row in drift
        ]
    return report
