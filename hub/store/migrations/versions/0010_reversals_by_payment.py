"""Reversals found by the payment they name: a payment that arrives after its reversal.

A reversal of a payment the hub has not received is remembered (its row in
``reversal_references``), and the payment, if it comes after all, is refused as
reversed. Intake looks that up by (partner, payment reference) for every first-time
payment, so it gets an index; and the agent who sent it (Perisai), since an agent's
reversal voids only that agent's payments.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.add_column("reversal_references", sa.Column("agent_id", sa.String(length=32)))
    op.create_index(
        "ix_reversal_references_payment",
        "reversal_references",
        ["partner_id", "payment_reference"],
    )


def downgrade() -> None:
    op.drop_index("ix_reversal_references_payment", table_name="reversal_references")
    op.drop_column("reversal_references", "agent_id")
