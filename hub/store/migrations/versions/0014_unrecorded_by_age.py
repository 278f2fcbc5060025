"""The unrecorded requests in order of age, by an index.

The operators' stuck list shows the oldest accepted-but-unrecorded requests first, and
the unrecorded gauge reads the oldest one's time. Before 0013 a partial index of the
inbox (``ix_partner_requests_accepted``, on ``created_at``) served both; 0013 moved the
accepted rows into ``unrecorded_requests`` without one, so both sorted or scanned the
whole list. That list is long exactly when operators read it: during a consumer outage.
With 1,000,000 requests waiting the stuck list took 230 ms (an external merge sort that
spilled 25 MB to disk); with this index, 1.8 ms. Each accepted request pays one more index
entry, about 1.3 µs of PostgreSQL (200,000 inserts in batches of 100: 1.03-1.16 s against
0.76-0.97 s).
"""

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    op.create_index("ix_unrecorded_requests_created_at", "unrecorded_requests", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_unrecorded_requests_created_at", table_name="unrecorded_requests")
