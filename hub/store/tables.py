"""Tables of the membership store, in SQLAlchemy Core.

Core rather than the ORM: the consumer writes in bulk, and the queries stay visible.
Alembic migrations in ``hub/store/migrations`` create exactly these.
"""

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)

partner_requests = sa.Table(
    "partner_requests",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("hub_reference", sa.String(32), nullable=False),
    sa.Column("member_key", sa.String(16), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("kpj", sa.String(20)),
    sa.Column("reason", sa.Text()),
    sa.Column("event_json", sa.Text(), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("business_date", sa.Date()),
    sa.Column("after_close", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("amount", sa.BigInteger()),
    sa.Column("months", sa.SmallInteger()),
    sa.Column("paid_at", Timestamp),
    sa.Column("amount_jkk", sa.BigInteger()),
    sa.Column("amount_jkm", sa.BigInteger()),
    sa.Column("amount_jht", sa.BigInteger()),
    sa.Column("redrive_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("agent_id", sa.String(32)),
    sa.UniqueConstraint("partner_id", "kind", "reference"),
    sa.Index(
        "ix_partner_requests_dated",
        "partner_id",
        "business_date",
        postgresql_where=sa.text("business_date IS NOT NULL"),
        sqlite_where=sa.text("business_date IS NOT NULL"),
    ),
)
"""The inbox: one row per partner request, claimed before its event is published.

Status goes pending -> accepted (the broker acknowledged the event) -> recorded
or rejected (the core consumer applied it, refused it with a reason, or dead-lettered
it). An accepted row unchanged for ``redrive_after_s`` has its event published again
(``redrive_count`` counts how often). Payments and reversals also carry their partner's
``business_date`` (fixed when accepted; ``after_close`` when their own day was already
closed) and, for payments, the money settlement needs: amount, months, paid_at and the
split by programme. ``agent_id``: the agent that signed it, when the partner is an agency
whose agents each hold their own key (``partner_agents``); NULL otherwise.
``ix_partner_requests_dated`` finds a partner's rows of a business day; registrations,
which have none, are left out of it.
"""

reversal_references = sa.Table(
    "reversal_references",
    metadata,
    sa.Column("partner_id", sa.String(32), primary_key=True),
    sa.Column("reference", sa.String(64), primary_key=True),
    sa.Column("payment_reference", sa.String(64), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("agent_id", sa.String(32)),
    sa.Index("ix_reversal_references_payment", "partner_id", "payment_reference"),
)
"""A reversal's own reference, unique per partner, and the payment it named.

The inbox holds a reversal under the *payment's* reference (one reversal per
payment); this table makes the reversal's own reference an idempotency key too,
so a reference reused for another payment is a conflict, never a second void. A
reversal of a payment the hub has not received is held here as well: the payment,
if it arrives after all, is refused as reversed."""

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=False),
    sa.Column("nik", sa.String(16), nullable=False, unique=True),
    sa.Column("kpj", sa.String(20), nullable=False, unique=True),
    sa.Column("full_name", sa.String(100), nullable=False),
    sa.Column("birth_date", sa.Date(), nullable=False),
    sa.Column("sex", sa.String(1), nullable=False),
    sa.Column("phone", sa.String(16), nullable=False),
    sa.Column("address", sa.String(300), nullable=False),
    sa.Column("occupation", sa.String(100), nullable=False),
    sa.Column("declared_income", sa.BigInteger(), nullable=False),
    sa.Column("programmes", sa.String(16), nullable=False),
    sa.Column("paid_through", sa.Date()),
    sa.Column("registered_month", sa.Date(), nullable=False),
    sa.Column("registered_channel", sa.String(32), nullable=False),
    sa.Column("registered_partner", sa.String(32), nullable=False),
    sa.Column("registration_event_id", sa.Uuid(), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("period_start", sa.Date()),
    sa.Column("lapsed_on", sa.Date()),
    sa.Column("source", sa.String(16), nullable=False, server_default="hub"),
    sa.Column("registered_agent", sa.String(32)),
    sa.Index(
        "ix_members_kpj_not_minted",
        "kpj",
        postgresql_where=sa.text("source <> 'hub'"),
        sqlite_where=sa.text("source <> 'hub'"),
    ),
)
"""One row per person (NIK), whichever channel registered them first.

``period_start``: first month of the current membership period (NULL: the registration
month). ``lapsed_on``: the day the current period lapsed, once recorded. ``source``:
``hub`` (registered through a channel, KPJ minted here) or ``import`` (loaded from
the agency's core with its own KPJ by ``hub members import``). ``registered_agent``: the
agent (``partner_agents``) that registered them, if an agent did. ``ix_members_kpj_not_minted``
holds the KPJs the hub did not mint, the only ones a KPJ it mints can collide with."""

contributions = sa.Table(
    "contributions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("member_id", BigId, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("partner_id", sa.String(32), nullable=False),
    sa.Column("partner_ref", sa.String(64), nullable=False),
    sa.Column("months", sa.SmallInteger(), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("paid_at", Timestamp, nullable=False),
    sa.Column("covers_from", sa.Date(), nullable=False),
    sa.Column("covers_through", sa.Date(), nullable=False),
    sa.Column("previous_paid_through", sa.Date()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reversed_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("arrears_months", sa.SmallInteger(), nullable=False, server_default="0"),
    sa.Column("previous_period_start", sa.Date()),
    sa.Column("agent_id", sa.String(32)),
    sa.UniqueConstraint("partner_id", "partner_ref"),
    sa.Index("ix_contributions_partner_id_agent_id", "partner_id", "agent_id"),
)
"""Each payment a partner collected, with the months it covers; reversed, never deleted.
``agent_id``: the agent of an agency partner who collected it (incentives, reconciliation)."""

processed_events = sa.Table(
    "processed_events",
    metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("kafka_partition", sa.Integer(), nullable=False),
    sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
    sa.Column("processed_at", Timestamp, nullable=False),
)
"""Every event the core consumer has applied: a replay of one changes nothing."""

member_changes = sa.Table(
    "member_changes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("member_id", BigId, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("event_id", sa.Uuid(), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("partner_id", sa.String(32), nullable=False),
    sa.Column("partner_ref", sa.String(64), nullable=False),
    sa.Column("field", sa.String(32), nullable=False),
    sa.Column("current_value", sa.Text(), nullable=False),
    sa.Column("proposed_value", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("reviewed_at", Timestamp),
    sa.Column("reviewed_by", sa.String(64)),
    sa.UniqueConstraint("event_id", "field"),
)
"""Personal data a later registration disagreed on: pending review, never applied silently."""

member_history = sa.Table(
    "member_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("member_id", BigId, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("field", sa.String(32), nullable=False),
    sa.Column("old_value", sa.Text()),
    sa.Column("new_value", sa.Text(), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.Column("effective_on", sa.Date()),
)
"""Every change to a member's personal data, old and new value: the row is never overwritten
without one. Also membership state: ``membership`` active -> lapsed (``effective_on`` the day
it lapsed) and ``period_start`` (a new period after a lapse). Coverage history lives in
``contributions`` (each with its previous paid-through)."""

member_imports = sa.Table(
    "member_imports",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("file_name", sa.Text(), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("imported_by", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("rows_read", sa.Integer(), nullable=False),
    sa.Column("members_added", sa.Integer(), nullable=False),
    sa.Column("already_present", sa.Integer(), nullable=False),
    sa.Column("refused", sa.Integer(), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=False),
)
"""Audit of ``hub members import``: who loaded which file (by hash), when, why, and what it did."""

callback_deliveries = sa.Table(
    "callback_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("partner_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("event", sa.String(48), nullable=False),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("lease_until", Timestamp),
    sa.Column("give_up_at", Timestamp, nullable=False),
    sa.Column("delivered_at", Timestamp),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_callback_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_callback_deliveries_reference", "partner_id", "kind", "reference"),
)
"""The callback outbox: written in the consumer's transaction, delivered by the dispatcher.

Status: pending -> delivered, or failed once ``give_up_at`` passes without a 2xx."""

callback_attempts = sa.Table(
    "callback_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "delivery_id", BigId, sa.ForeignKey("callback_deliveries.id"), nullable=False, index=True
    ),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("attempted_at", Timestamp, nullable=False),
    sa.Column("duration_ms", sa.Integer(), nullable=False),
    sa.Column("http_status", sa.Integer()),
    sa.Column("error", sa.Text()),
)
"""Each delivery attempt and its outcome (HTTP status, or the transport error)."""

partner_nonces = sa.Table(
    "partner_nonces",
    metadata,
    sa.Column("partner_id", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
)
"""Request ids a partner may use once per business day (SNAP BI's X-EXTERNAL-ID)."""

settlement_days = sa.Table(
    "settlement_days",
    metadata,
    sa.Column("partner_id", sa.String(32), primary_key=True),
    sa.Column("business_date", sa.Date(), primary_key=True),
    sa.Column("closed_at", Timestamp, nullable=False),
    sa.Column("closed_by", sa.String(64), nullable=False),
    sa.Column("payments", sa.BigInteger(), nullable=False),
    sa.Column("payments_amount", sa.BigInteger(), nullable=False),
    sa.Column("reversals", sa.BigInteger(), nullable=False),
    sa.Column("reversals_amount", sa.BigInteger(), nullable=False),
    sa.Column("totals_json", sa.Text(), nullable=False),
)
"""A partner's closed business day, with the hub's view of it frozen: counts and rupiah
totals per programme. Nothing is added to a closed day; late events go to the next open one."""

reconciliation_runs = sa.Table(
    "reconciliation_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.String(32), nullable=False),
    sa.Column("business_date", sa.Date(), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("file_format", sa.String(32), nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("output_dir", sa.Text(), nullable=False),
    sa.Column("summary_json", sa.Text()),
    sa.Index("ix_reconciliation_runs_partner_id_business_date", "partner_id", "business_date"),
)
"""One matching of a partner's settlement file against the hub's rows of that day."""

reconciliation_exceptions = sa.Table(
    "reconciliation_exceptions",
    metadata,
    sa.Column("run_id", BigId, sa.ForeignKey("reconciliation_runs.id"), primary_key=True),
    sa.Column("line", sa.String(16), primary_key=True),
    sa.Column("category", sa.String(24), nullable=False),
    sa.Column("reference", sa.String(64)),
    sa.Column("nik", sa.String(16)),
    sa.Column("payment_code", sa.String(20)),
    sa.Column("months", sa.SmallInteger()),
    sa.Column("amount", sa.BigInteger()),
    sa.Column("paid_at", Timestamp),
    sa.Column("hub_reference", sa.String(32)),
    sa.Column("hub_amount", sa.BigInteger()),
    sa.Column("hub_paid_at", Timestamp),
    sa.Column("hub_business_date", sa.Date()),
    sa.Column("detail", sa.Text(), nullable=False),
)
"""Every line of a run that did not match, with both sides: what resolution works from."""

reconciliation_decisions = sa.Table(
    "reconciliation_decisions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", BigId, sa.ForeignKey("reconciliation_runs.id"), nullable=False),
    sa.Column("line", sa.String(16), nullable=False),
    sa.Column("category", sa.String(24), nullable=False),
    sa.Column("decision", sa.String(32), nullable=False),
    sa.Column("decided_by", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("decided_at", Timestamp, nullable=False),
    sa.Column("payment_reference", sa.String(64)),
    sa.Column("hub_reference", sa.String(32)),
    sa.UniqueConstraint("run_id", "line"),
)
"""The audit of reconciliation: who decided what about an exception, when and why."""

operator_actions = sa.Table(
    "operator_actions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False, index=True),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("action", sa.String(48), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
)
"""The audit log: who did what to which dead letter, callback, request or change, when and
why, and how it went. Rows are only ever inserted."""

sa.Index("ix_partner_requests_created_at", partner_requests.c.created_at)

unrecorded_requests = sa.Table(
    "unrecorded_requests",
    metadata,
    sa.Column("request_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("created_at", Timestamp, nullable=False, index=True),
    sa.Column("updated_at", Timestamp, nullable=False, index=True),
)
"""The inbox's accepted-but-unrecorded requests: id, ``created_at`` and ``updated_at`` of
each ``partner_requests`` row whose status is ``accepted``, and of no other. Triggers
(migration 0013) keep it in the same statement as the inbox change, so no code writes it;
the re-drive (by ``updated_at``), the stuck list and the unrecorded gauge (by ``created_at``,
oldest first) read it. It exists so that no index
of ``partner_requests`` covers ``status`` or ``updated_at``: the acknowledgement and the
consumer's outcome then update the inbox's rows in place (HOT), the inbox's pages keeping
two fifths free for it (``fillfactor`` 60)."""
rate_limit_buckets = sa.Table(
    "rate_limit_buckets",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("tokens", sa.Float(), nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)
"""Token buckets of the rate limits (partner|operation), shared by every API process."""

nik_inquiries = sa.Table(
    "nik_inquiries",
    metadata,
    sa.Column("partner_id", sa.String(32), primary_key=True),
    sa.Column("nik_hash", sa.LargeBinary(16), primary_key=True),
    sa.Column("inquired_at", Timestamp, nullable=False),
    sa.Index("ix_nik_inquiries_partner_id_inquired_at", "partner_id", "inquired_at"),
)
"""NIKs (keyed hashes) a partner inquired and has not paid for: the harvesting alert's count."""

nik_harvest_alerts = sa.Table(
    "nik_harvest_alerts",
    metadata,
    sa.Column("partner_id", sa.String(32), primary_key=True),
    sa.Column("alerted_at", Timestamp, nullable=False),
)
"""When each partner's harvesting alert was last raised: once per window, hub-wide."""

inquiry_hash_key = sa.Table(
    "inquiry_hash_key",
    metadata,
    sa.Column("id", sa.SmallInteger(), primary_key=True),
    sa.Column("key", sa.LargeBinary(16), nullable=False),
)
"""The one key of the NIK hashes in ``nik_inquiries``, made by the first process that needs it."""

partner_agents = sa.Table(
    "partner_agents",
    metadata,
    sa.Column("agent_id", sa.String(32), primary_key=True),
    sa.Column("partner_id", sa.String(32), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("key_salt", sa.String(64), nullable=False),
    sa.Column("issued_at", Timestamp, nullable=False),
    sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.Column("revoked_by", sa.String(64)),
    sa.Column("revoke_reason", sa.Text()),
    sa.Column("key_issued_at", Timestamp, nullable=False),
)
"""Agents of an agency partner (Agen Perisai): each signs the hub API with its own key.

The key is never stored: it is HMAC-SHA256(the agency partner's secret, agent id and
``key_salt``), derived again on each request (``hub.agents.keys``), so this table alone
lets no one sign. A revoked agent keeps its row (its requests still name it) and its id
is never issued again."""
