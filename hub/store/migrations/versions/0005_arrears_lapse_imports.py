"""Membership periods and lapses, arrears per contribution, members imported from the core.

Revision ID: 0005
Revises: 0007
Create Date: 2026-12-01 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("lapsed_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="hub")
        )
    with op.batch_alter_table("contributions") as batch:
        batch.add_column(
            sa.Column("arrears_months", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("previous_period_start", sa.Date(), nullable=True))
    with op.batch_alter_table("member_history") as batch:
        batch.add_column(sa.Column("effective_on", sa.Date(), nullable=True))
    op.create_table(
        "member_imports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("members_added", sa.Integer(), nullable=False),
        sa.Column("already_present", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_imports")),
    )


def downgrade() -> None:
    op.drop_table("member_imports")
    with op.batch_alter_table("member_history") as batch:
        batch.drop_column("effective_on")
    with op.batch_alter_table("contributions") as batch:
        batch.drop_column("previous_period_start")
        batch.drop_column("arrears_months")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("source")
        batch.drop_column("lapsed_on")
        batch.drop_column("period_start")
