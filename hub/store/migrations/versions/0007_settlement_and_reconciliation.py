"""Business dates on payments and reversals, closed settlement days, reconciliation runs.

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_SETTLEMENT_COLUMNS = (
    ("business_date", sa.Date()),
    ("amount", sa.BigInteger()),
    ("months", sa.SmallInteger()),
    ("paid_at", _TS),
    ("amount_jkk", sa.BigInteger()),
    ("amount_jkm", sa.BigInteger()),
    ("amount_jht", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("partner_requests") as batch:
        for name, kind in _SETTLEMENT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(
            sa.Column("after_close", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_partner_requests_partner_id_business_date",
        "partner_requests",
        ["partner_id", "business_date"],
    )
    op.create_table(
        "settlement_days",
        sa.Column("partner_id", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("closed_at", _TS, nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("payments", sa.BigInteger(), nullable=False),
        sa.Column("payments_amount", sa.BigInteger(), nullable=False),
        sa.Column("reversals", sa.BigInteger(), nullable=False),
        sa.Column("reversals_amount", sa.BigInteger(), nullable=False),
        sa.Column("totals_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "business_date", name=op.f("pk_settlement_days")),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_format", sa.String(32), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("output_dir", sa.Text(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    op.create_index(
        "ix_reconciliation_runs_partner_id_business_date",
        "reconciliation_runs",
        ["partner_id", "business_date"],
    )
    op.create_table(
        "reconciliation_exceptions",
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line", sa.String(16), nullable=False),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.Column("nik", sa.String(16), nullable=True),
        sa.Column("payment_code", sa.String(20), nullable=True),
        sa.Column("months", sa.SmallInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", _TS, nullable=True),
        sa.Column("hub_reference", sa.String(32), nullable=True),
        sa.Column("hub_amount", sa.BigInteger(), nullable=True),
        sa.Column("hub_paid_at", _TS, nullable=True),
        sa.Column("hub_business_date", sa.Date(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_exceptions_run_id_reconciliation_runs"),
        ),
        sa.PrimaryKeyConstraint("run_id", "line", name=op.f("pk_reconciliation_exceptions")),
    )
    op.create_table(
        "reconciliation_decisions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("line", sa.String(16), nullable=False),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", _TS, nullable=False),
        sa.Column("payment_reference", sa.String(64), nullable=True),
        sa.Column("hub_reference", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_decisions_run_id_reconciliation_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_decisions")),
        sa.UniqueConstraint("run_id", "line", name=op.f("uq_reconciliation_decisions_run_id_line")),
    )


def downgrade() -> None:
    op.drop_table("reconciliation_decisions")
    op.drop_table("reconciliation_exceptions")
    op.drop_index(
        "ix_reconciliation_runs_partner_id_business_date", table_name="reconciliation_runs"
    )
    op.drop_table("reconciliation_runs")
    op.drop_table("settlement_days")
    op.drop_index("ix_partner_requests_partner_id_business_date", table_name="partner_requests")
    with op.batch_alter_table("partner_requests") as batch:
        batch.drop_column("after_close")
        for name, _ in reversed(_SETTLEMENT_COLUMNS):
            batch.drop_column(name)
