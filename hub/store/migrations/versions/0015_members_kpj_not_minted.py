"""The KPJs the hub did not mint, in an index of their own.

Before a new member is written, the consumer checks that the KPJ it mints (the member
number and its Luhn digit) is not already held. Only a member the hub did not register
can hold it (one imported from the agency's core keeps the agency's KPJ); each member
the hub registered holds the KPJ of its own number. The check looked up a batch's 2,000
KPJs one by one in the index of every member's KPJ: 1.40 µs of PostgreSQL a KPJ with
100,000 members, 0.50 µs in this index, and asyncpg encoded the array element by
element (1.3 µs a KPJ). With this index the check reads the batch's KPJ range in it.
A member the hub registers pays nothing for it: the index leaves its row out.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"

_NOT_MINTED = sa.text("source <> 'hub'")


def upgrade() -> None:
    op.create_index(
        "ix_members_kpj_not_minted",
        "members",
        ["kpj"],
        postgresql_where=_NOT_MINTED,
        sqlite_where=_NOT_MINTED,
    )


def downgrade() -> None:
    op.drop_index("ix_members_kpj_not_minted", table_name="members")
