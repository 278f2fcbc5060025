"""When each agent's current key was issued: at issue, then at each rekey.

``hub agents list`` shows it, so an operator can see which agents still sign with a key
older than a rotation. Agents issued before this migration have had one key since they
were issued.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"


def upgrade() -> None:
    op.add_column(
        "partner_agents", sa.Column("key_issued_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE partner_agents SET key_issued_at = issued_at")
    with op.batch_alter_table("partner_agents") as batch:
        batch.alter_column("key_issued_at", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("partner_agents") as batch:
        batch.drop_column("key_issued_at")
