"""Each fault case on a PostgreSQL database of its own.

The cases run real ``hub consume`` processes, whose re-drive loop republishes every
accepted-but-unrecorded request of their database. On the session's shared database
that included other tests' rows (``tests/support/inbox.py`` accepts payments whose
stored event is ``{}``): a fault case then dead-lettered them as poison every ten
seconds, and what it counted depended on which tests had run before it.
"""

from collections.abc import AsyncIterator

import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.support.store import own_database


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh, migrated database for this case only (overrides the session's)."""
    async with own_database(PG_ADMIN_DSN, "hub_faults") as url:
        yield url
