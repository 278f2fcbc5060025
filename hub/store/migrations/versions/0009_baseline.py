"""Baseline: the whole membership store as it stood at revision 0009, created in one step.

Revisions 0001 to 0012 were squashed into this one before the store was deployed
anywhere but development and tests. It keeps the old head's id, so a database already
at 0009 is at head; one at an older revision must first upgrade with a release from
before the squash. Column order follows the old chain (columns added later come last),
so the schema is the same whichever way a database got here.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_ACCEPTED = sa.text("status = 'accepted'")


def upgrade() -> None:
    op.create_table(
        "partner_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
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
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("months", sa.SmallInteger(), nullable=True),
        sa.Column("paid_at", _TS, nullable=True),
        sa.Column("amount_jkk", sa.BigInteger(), nullable=True),
        sa.Column("amount_jkm", sa.BigInteger(), nullable=True),
        sa.Column("amount_jht", sa.BigInteger(), nullable=True),
        sa.Column("after_close", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("redrive_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_requests")),
        sa.UniqueConstraint("event_id", name=op.f("uq_partner_requests_event_id")),
        sa.UniqueConstraint(
            "partner_id",
            "kind",
            "reference",
            name=op.f("uq_partner_requests_partner_id_kind_reference"),
        ),
    )
    op.create_index(op.f("ix_partner_requests_member_key"), "partner_requests", ["member_key"])
    op.create_index(
        "ix_partner_requests_partner_id_business_date",
        "partner_requests",
        ["partner_id", "business_date"],
    )
    op.create_index("ix_partner_requests_created_at", "partner_requests", ["created_at"])
    # The flow view and the re-drive loop look only at accepted rows: small partial indexes.
    op.create_index(
        "ix_partner_requests_accepted",
        "partner_requests",
        ["created_at"],
        postgresql_where=_ACCEPTED,
        sqlite_where=_ACCEPTED,
    )
    op.create_index(
        "ix_partner_requests_accepted_since",
        "partner_requests",
        ["updated_at"],
        postgresql_where=_ACCEPTED,
        sqlite_where=_ACCEPTED,
    )
    op.create_table(
        "reversal_references",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("payment_reference", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "reference", name=op.f("pk_reversal_references")),
    )
    op.create_table(
        "members",
        sa.Column("id", _ID, autoincrement=False, nullable=False),
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
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("lapsed_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False, server_default="hub"),
        sa.Column("registered_agent", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("kpj", name=op.f("uq_members_kpj")),
        sa.UniqueConstraint("nik", name=op.f("uq_members_nik")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Member ids (and so KPJ numbers) are drawn from a sequence before insert,
        # so a batch can assign KPJ numbers in one statement.
        op.execute("CREATE SEQUENCE members_id_seq OWNED BY members.id")
    op.create_table(
        "contributions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("partner_ref", sa.String(length=64), nullable=False),
        sa.Column("months", sa.SmallInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", _TS, nullable=False),
        sa.Column("covers_from", sa.Date(), nullable=False),
        sa.Column("covers_through", sa.Date(), nullable=False),
        sa.Column("previous_paid_through", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reversed_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("arrears_months", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("previous_period_start", sa.Date(), nullable=True),
        sa.Column("agent_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_contributions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_contributions_event_id")),
        sa.UniqueConstraint(
            "partner_id", "partner_ref", name=op.f("uq_contributions_partner_id_partner_ref")
        ),
    )
    op.create_index(op.f("ix_contributions_member_id"), "contributions", ["member_id"])
    op.create_index(
        "ix_contributions_partner_id_agent_id", "contributions", ["partner_id", "agent_id"]
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "member_changes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("partner_ref", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("current_value", sa.Text(), nullable=False),
        sa.Column("proposed_value", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("reviewed_at", _TS, nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_changes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_changes")),
        sa.UniqueConstraint("event_id", "field", name=op.f("uq_member_changes_event_id_field")),
    )
    op.create_index(op.f("ix_member_changes_member_id"), "member_changes", ["member_id"])
    op.create_index(op.f("ix_member_changes_status"), "member_changes", ["status"])
    op.create_table(
        "member_history",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_history_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_history")),
    )
    op.create_index(op.f("ix_member_history_member_id"), "member_history", ["member_id"])
    op.create_table(
        "member_imports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("members_added", sa.Integer(), nullable=False),
        sa.Column("already_present", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_imports")),
    )
    op.create_table(
        "callback_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=48), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("give_up_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_deliveries")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_callback_deliveries_notification_id")),
    )
    op.create_index(
        "ix_callback_deliveries_due", "callback_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_callback_deliveries_reference",
        "callback_deliveries",
        ["partner_id", "kind", "reference"],
    )
    op.create_table(
        "callback_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", _ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", _TS, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["callback_deliveries.id"],
            name=op.f("fk_callback_attempts_delivery_id_callback_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    op.create_index(op.f("ix_callback_attempts_delivery_id"), "callback_attempts", ["delivery_id"])
    op.create_table(
        "partner_nonces",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "day", "nonce", name=op.f("pk_partner_nonces")),
    )
    op.create_table(
        "settlement_days",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("closed_at", _TS, nullable=False),
        sa.Column("closed_by", sa.String(length=64), nullable=False),
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
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_format", sa.String(length=32), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
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
        sa.Column("line", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("nik", sa.String(length=16), nullable=True),
        sa.Column("payment_code", sa.String(length=20), nullable=True),
        sa.Column("months", sa.SmallInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", _TS, nullable=True),
        sa.Column("hub_reference", sa.String(length=32), nullable=True),
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
        sa.Column("line", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", _TS, nullable=False),
        sa.Column("payment_reference", sa.String(length=64), nullable=True),
        sa.Column("hub_reference", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_decisions_run_id_reconciliation_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_decisions")),
        sa.UniqueConstraint("run_id", "line", name=op.f("uq_reconciliation_decisions_run_id_line")),
    )
    op.create_table(
        "operator_actions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
    )
    op.create_index(op.f("ix_operator_actions_at"), "operator_actions", ["at"])
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_buckets")),
    )
    op.create_table(
        "nik_inquiries",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("nik_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("inquired_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "nik_hash", name=op.f("pk_nik_inquiries")),
    )
    op.create_index(
        "ix_nik_inquiries_partner_id_inquired_at", "nik_inquiries", ["partner_id", "inquired_at"]
    )
    op.create_table(
        "nik_harvest_alerts",
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("alerted_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_nik_harvest_alerts")),
    )
    op.create_table(
        "inquiry_hash_key",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_hash_key")),
    )
    op.create_table(
        "partner_agents",
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_salt", sa.String(length=64), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_partner_agents")),
    )
    op.create_index(op.f("ix_partner_agents_partner_id"), "partner_agents", ["partner_id"])


# The order upgrade creates them in; downgrade drops them in reverse, so no foreign key is
# left dangling. Their indexes (and members_id_seq, owned by members.id) go with them.
_TABLES = (
    "partner_requests",
    "reversal_references",
    "members",
    "contributions",
    "processed_events",
    "member_changes",
    "member_history",
    "member_imports",
    "callback_deliveries",
    "callback_attempts",
    "partner_nonces",
    "settlement_days",
    "reconciliation_runs",
    "reconciliation_exceptions",
    "reconciliation_decisions",
    "operator_actions",
    "rate_limit_buckets",
    "nik_inquiries",
    "nik_harvest_alerts",
    "inquiry_hash_key",
    "partner_agents",
)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
