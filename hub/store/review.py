"""Review of pending member changes: approve (applied, with a history row) or reject.

A second registration never overwrites a member: what it says differently waits
here. Approving applies the new value and writes the old and new value to
``member_history`` in the same transaction.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.rows import columns_of, record_of
from hub.store.tables import member_changes, member_history, members


class ChangeNotPending(LookupError):
    """No pending change with that id (unknown, or already reviewed)."""


@dataclass(frozen=True, slots=True)
class PendingChangeRow:
    id: int
    kpj: str
    nik: str
    field: str
    current_value: str
    proposed_value: str
    channel: str
    partner_id: str
    partner_ref: str
    created_at: datetime


def _column_value(field: str, text: str) -> Any:
    """A reviewed value back in the member column's type."""
    if field == "declared_income":
        return int(text)
    if field == "birth_date":
        return date.fromisoformat(text)
    return text


class MemberReview:
    """Lists, approves and rejects pending changes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def pending(self, limit: int = 100) -> list[PendingChangeRow]:
        c, m = member_changes, members
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                # The change's own columns; the member's KPJ and NIK.
                sa.select(*columns_of(PendingChangeRow, c, m))
                .join(m, m.c.id == c.c.member_id)
                .where(c.c.status == "pending")
                .order_by(c.c.id)
                .limit(limit)
            )
            return [record_of(PendingChangeRow, row) for row in rows]

    async def decide(
        self, change_id: int, decision: Literal["approved", "rejected"], reviewer: str
    ) -> None:
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            change = (
                await conn.execute(
                    sa.select(member_changes)
                    .where(member_changes.c.id == change_id, member_changes.c.status == "pending")
                    .with_for_update()
                )
            ).first()
            if change is None:
                raise ChangeNotPending(f"no pending change #{change_id}")
            if decision == "approved":
                old = (
                    await conn.execute(
                        sa.select(members.c[change.field])
                        .where(members.c.id == change.member_id)
                        .with_for_update()
                    )
                ).scalar_one()
                await conn.execute(
                    members.update()
                    .where(members.c.id == change.member_id)
                    .values(
                        {
                            change.field: _column_value(change.field, change.proposed_value),
                            "updated_at": now,
                        }
                    )
                )
                await conn.execute(
                    member_history.insert().values(
                        member_id=change.member_id,
                        field=change.field,
                        old_value=None if old is None else str(old),
                        new_value=change.proposed_value,
                        source=f"change #{change.id} from {change.channel}/{change.partner_id} "
                        f"({change.partner_ref}), approved by {reviewer}",
                        changed_at=now,
                    )
                )
            await conn.execute(
                member_changes.update()
                .where(member_changes.c.id == change_id)
                .values(status=decision, reviewed_at=now, reviewed_by=reviewer)
            )
