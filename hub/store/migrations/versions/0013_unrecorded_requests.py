"""Accepted-but-unrecorded requests in a table of their own, so the inbox updates in place.

The re-drive, the operators' stuck list and the unrecorded gauge look for the inbox's
``accepted`` rows. Two partial indexes found them (``status = 'accepted'``, keyed by
``created_at`` and ``updated_at``), but an index on a column, or a predicate over one,
stops PostgreSQL from updating a row in place (a HOT update): every acknowledgement and
every outcome the consumer wrote (``status``, ``updated_at``) put a new entry in each of
the inbox's six other indexes (and both partial ones for an acknowledgement). The
outcomes alone were 6.2 s of the 9.9 s PostgreSQL spent on a 100,000-event drain.

``unrecorded_requests`` holds the id and times of each accepted row, no more. Triggers
keep it, in the same statement as the inbox change, whatever code makes the change: a
row enters when its request becomes ``accepted``, follows its ``updated_at`` (the
re-drive's lease), and leaves when the request is recorded or rejected. The inbox's
pages keep two fifths free (``fillfactor`` 60): the consumer updates a batch's rows in one
transaction, most rows of a page at once, and each new version must find room on its page
(at 80, 112 of 200 outcomes were HOT; at 60, 200 of 200).

Not 0012: that was the id of a revision squashed into the baseline (``nik_inquiries``),
and a development store left at it must not take this one for its head.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"

_TS = sa.DateTime(timezone=True)
_ACCEPTED = sa.text("status = 'accepted'")

# Updates: a statement trigger over the transition table of the statement's new rows, so
# a batch of 2,000 outcomes is one DELETE, not 2,000. The ids are probed in the primary
# key: joined to the transition table, PostgreSQL hashed the whole table instead, 29 ms a
# batch with 100,000 requests waiting, and more the longer the backlog it was draining.
_PG_FOLLOW = """
CREATE FUNCTION unrecorded_requests_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM unrecorded_requests
    WHERE request_id = ANY(ARRAY(SELECT id FROM changed WHERE status <> 'accepted'));
  INSERT INTO unrecorded_requests (request_id, created_at, updated_at)
    SELECT c.id, c.created_at, c.updated_at FROM changed c WHERE c.status = 'accepted'
    ON CONFLICT (request_id) DO UPDATE SET updated_at = EXCLUDED.updated_at
    WHERE unrecorded_requests.updated_at IS DISTINCT FROM EXCLUDED.updated_at;
  RETURN NULL;
END
$$
"""
# Inserts: the hub claims requests as pending, so a row trigger whose WHEN (checked
# without calling the function, and without keeping a transition table of every claim
# batch) passes only a row written accepted at once: a bulk load, a restored copy.
_PG_ADMIT = """
CREATE FUNCTION unrecorded_requests_admit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO unrecorded_requests (request_id, created_at, updated_at)
    VALUES (NEW.id, NEW.created_at, NEW.updated_at);
  RETURN NULL;
END
$$
"""
_PG_FUNCTIONS = ("unrecorded_requests_follow", "unrecorded_requests_admit")
_PG_TRIGGERS = (
    "CREATE TRIGGER unrecorded_requests_on_insert AFTER INSERT ON partner_requests "
    "FOR EACH ROW WHEN (NEW.status = 'accepted') "
    "EXECUTE FUNCTION unrecorded_requests_admit()",
    "CREATE TRIGGER unrecorded_requests_on_update AFTER UPDATE ON partner_requests "
    "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
    "EXECUTE FUNCTION unrecorded_requests_follow()",
)
# SQLite has row triggers only; the laptop default, one writer.
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER unrecorded_requests_on_insert AFTER INSERT ON partner_requests "
    "WHEN NEW.status = 'accepted' BEGIN "
    "INSERT INTO unrecorded_requests (request_id, created_at, updated_at) "
    "VALUES (NEW.id, NEW.created_at, NEW.updated_at); END",
    "CREATE TRIGGER unrecorded_requests_on_update AFTER UPDATE OF status, updated_at "
    "ON partner_requests BEGIN "
    "DELETE FROM unrecorded_requests WHERE request_id = NEW.id AND NEW.status <> 'accepted'; "
    "INSERT OR REPLACE INTO unrecorded_requests (request_id, created_at, updated_at) "
    "SELECT NEW.id, NEW.created_at, NEW.updated_at WHERE NEW.status = 'accepted'; END",
)


def upgrade() -> None:
    op.create_table(
        "unrecorded_requests",
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_unrecorded_requests")),
    )
    op.create_index("ix_unrecorded_requests_updated_at", "unrecorded_requests", ["updated_at"])
    postgres = op.get_bind().dialect.name == "postgresql"
    # Triggers first: creating one locks the inbox against writes until this commits,
    # so no request can change between the copy below and the triggers taking over.
    if postgres:
        op.execute(_PG_FOLLOW)
        op.execute(_PG_ADMIT)
    for trigger in _PG_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(trigger)
    op.execute(
        "INSERT INTO unrecorded_requests (request_id, created_at, updated_at) "
        "SELECT id, created_at, updated_at FROM partner_requests WHERE status = 'accepted'"
    )
    op.drop_index("ix_partner_requests_accepted", table_name="partner_requests")
    op.drop_index("ix_partner_requests_accepted_since", table_name="partner_requests")
    if postgres:
        op.execute("ALTER TABLE partner_requests SET (fillfactor = 60)")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE partner_requests RESET (fillfactor)")
    for index, column in (
        ("ix_partner_requests_accepted_since", "updated_at"),
        ("ix_partner_requests_accepted", "created_at"),
    ):
        op.create_index(
            index, "partner_requests", [column], postgresql_where=_ACCEPTED, sqlite_where=_ACCEPTED
        )
    on_inbox = " ON partner_requests" if postgres else ""
    for trigger in ("unrecorded_requests_on_update", "unrecorded_requests_on_insert"):
        op.execute(f"DROP TRIGGER {trigger}{on_inbox}")
    for function in _PG_FUNCTIONS if postgres else ():
        op.execute(f"DROP FUNCTION {function}()")
    op.drop_table("unrecorded_requests")
