"""Reversal references: a reversal's own reference is unique per partner.

Existing reversals are copied in from the inbox (their own reference is the
envelope's ``partner_ref``), so a reference used before this migration is held too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 17:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reversal_references",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("payment_reference", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "reference", name=op.f("pk_reversal_references")),
    )
    if op.get_bind().dialect.name == "postgresql":
        own_reference = "(event_json::json ->> 'partner_ref')"
        skip = " ON CONFLICT DO NOTHING"
        insert = "INSERT INTO"
    else:
        own_reference = "json_extract(event_json, '$.partner_ref')"
        skip = ""
        insert = "INSERT OR IGNORE INTO"
    op.execute(
        f"{insert} reversal_references "  # noqa: S608
        "(partner_id, reference, payment_reference, request_hash, created_at) "
        f"SELECT partner_id, {own_reference}, reference, request_hash, created_at "
        f"FROM partner_requests WHERE kind = 'reversal' ORDER BY id{skip}"
    )


def downgrade() -> None:
    op.drop_table("reversal_references")
