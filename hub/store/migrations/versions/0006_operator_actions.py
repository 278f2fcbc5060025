"""The operator audit log; indexes for the flow view and the accepted-but-unrecorded requests.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operator_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
    )
    op.create_index(op.f("ix_operator_actions_at"), "operator_actions", ["at"], unique=False)
    op.create_index(
        "ix_partner_requests_created_at", "partner_requests", ["created_at"], unique=False
    )
    op.create_index(
        "ix_partner_requests_accepted",
        "partner_requests",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'accepted'"),
        sqlite_where=sa.text("status = 'accepted'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_partner_requests_accepted",
        table_name="partner_requests",
        postgresql_where=sa.text("status = 'accepted'"),
        sqlite_where=sa.text("status = 'accepted'"),
    )
    op.drop_index("ix_partner_requests_created_at", table_name="partner_requests")
    op.drop_index(op.f("ix_operator_actions_at"), table_name="operator_actions")
    op.drop_table("operator_actions")
