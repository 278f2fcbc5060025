"""Inbox re-drive: how often a request's event was published again, and an index to find them.

Revision ID: 0003
Revises: 0005 (0007 and 0005 landed first)
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACCEPTED = sa.text("status = 'accepted'")


def upgrade() -> None:
    with op.batch_alter_table("partner_requests") as batch:
        batch.add_column(
            sa.Column("redrive_count", sa.Integer(), nullable=False, server_default="0")
        )
    # The re-drive loop looks only at accepted rows, oldest first: a small partial index.
    op.create_index(
        "ix_partner_requests_accepted_since",
        "partner_requests",
        ["updated_at"],
        postgresql_where=_ACCEPTED,
        sqlite_where=_ACCEPTED,
    )


def downgrade() -> None:
    op.drop_index("ix_partner_requests_accepted_since", table_name="partner_requests")
    with op.batch_alter_table("partner_requests") as batch:
        batch.drop_column("redrive_count")
