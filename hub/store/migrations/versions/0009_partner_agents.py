"""Agents of agency partners (Agen Perisai) and the agent id on requests, members, payments.

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_agents",
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_salt", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_partner_agents")),
    )
    op.create_index(
        op.f("ix_partner_agents_partner_id"), "partner_agents", ["partner_id"], unique=False
    )
    # Nullable columns without defaults: instant on PostgreSQL, however large the tables.
    op.add_column("partner_requests", sa.Column("agent_id", sa.String(length=32), nullable=True))
    op.add_column("members", sa.Column("registered_agent", sa.String(length=32), nullable=True))
    op.add_column("contributions", sa.Column("agent_id", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_contributions_partner_id_agent_id",
        "contributions",
        ["partner_id", "agent_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contributions_partner_id_agent_id", table_name="contributions")
    with op.batch_alter_table("contributions") as batch:
        batch.drop_column("agent_id")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("registered_agent")
    with op.batch_alter_table("partner_requests") as batch:
        batch.drop_column("agent_id")
    op.drop_index(op.f("ix_partner_agents_partner_id"), table_name="partner_agents")
    op.drop_table("partner_agents")
