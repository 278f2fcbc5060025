"""Membership store: inbox of partner requests, members, contributions, processed events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 07:38:21.483963
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("kpj", sa.String(length=20), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("occupation", sa.String(length=100), nullable=False),
        sa.Column("declared_income", sa.BigInteger(), nullable=False),
        sa.Column("programmes", sa.String(length=16), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=True),
        sa.Column("registered_month", sa.Date(), nullable=False),
        sa.Column("registered_channel", sa.String(length=32), nullable=False),
        sa.Column("registered_partner", sa.String(length=32), nullable=False),
        sa.Column("registration_event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("kpj", name=op.f("uq_members_kpj")),
        sa.UniqueConstraint("nik", name=op.f("uq_members_nik")),
    )
    op.create_table(
        "partner_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("hub_reference", sa.String(length=32), nullable=False),
        sa.Column("member_key", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kpj", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("event_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_requests")),
        sa.UniqueConstraint("event_id", name=op.f("uq_partner_requests_event_id")),
        sa.UniqueConstraint(
            "partner_id",
            "kind",
            "reference",
            name=op.f("uq_partner_requests_partner_id_kind_reference"),
        ),
    )
    op.create_index(
        op.f("ix_partner_requests_member_key"), "partner_requests", ["member_key"], unique=False
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "contributions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("partner_ref", sa.String(length=64), nullable=False),
        sa.Column("months", sa.SmallInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("covers_from", sa.Date(), nullable=False),
        sa.Column("covers_through", sa.Date(), nullable=False),
        sa.Column("previous_paid_through", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_contributions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_contributions_event_id")),
        sa.UniqueConstraint(
            "partner_id", "partner_ref", name=op.f("uq_contributions_partner_id_partner_ref")
        ),
    )
    op.create_index(
        op.f("ix_contributions_member_id"), "contributions", ["member_id"], unique=False
    )

    if op.get_bind().dialect.name == "postgresql":
        # Member ids (and so KPJ numbers) are drawn from a sequence before insert,
        # so a batch can assign KPJ numbers in one statement.
        op.execute("CREATE SEQUENCE members_id_seq OWNED BY members.id")


def downgrade() -> None:
    op.drop_index(op.f("ix_contributions_member_id"), table_name="contributions")
    op.drop_table("contributions")
    op.drop_table("processed_events")
    op.drop_index(op.f("ix_partner_requests_member_key"), table_name="partner_requests")
    op.drop_table("partner_requests")
    op.drop_table("members")
