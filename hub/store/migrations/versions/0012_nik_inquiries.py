"""The harvesting watch's unpaid NIK inquiries, shared by every API process.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nik_inquiries",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("nik_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("inquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "nik_hash", name=op.f("pk_nik_inquiries")),
    )
    op.create_index(
        "ix_nik_inquiries_partner_id_inquired_at",
        "nik_inquiries",
        ["partner_id", "inquired_at"],
    )
    op.create_table(
        "nik_harvest_alerts",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_nik_harvest_alerts")),
    )
    op.create_table(
        "inquiry_hash_key",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_hash_key")),
    )


def downgrade() -> None:
    op.drop_table("inquiry_hash_key")
    op.drop_table("nik_harvest_alerts")
    op.drop_index("ix_nik_inquiries_partner_id_inquired_at", table_name="nik_inquiries")
    op.drop_table("nik_inquiries")
