"""The KPJ the hub mints for a new member is never one an imported member already holds.

A minted KPJ is the member number, zero-padded to ten digits, and its Luhn digit. A member
imported from the agency's core keeps the agency's KPJ, which may be exactly the one the
hub would mint for a later member number: the consumer skips such numbers, on PostgreSQL
as the store of a fresh deployment numbers its members (1, 2, 3...).
"""

import pytest

from tests.integration.conftest import MEMBERS_INSERT, OwnStore
from tests.integration.test_recording_plans import registrations

pytestmark = pytest.mark.integration

# Known answers: the KPJs of member numbers 3, 4 and 5 (Luhn digits worked by hand).
KPJ_OF_3, KPJ_OF_4, KPJ_OF_5 = "00000000034", "00000000042", "00000000059"


async def test_a_kpj_an_imported_member_holds_is_skipped_and_the_next_free_one_minted(
    own_store: OwnStore,
) -> None:
    admin = own_store.admin
    # Two members imported from the core, numbered 1 and 2 as an import numbers them,
    # holding the KPJs the hub would mint for numbers 3 and 4.
    await admin.execute(
        MEMBERS_INSERT
        + "SELECT nextval('members_id_seq'), (9100000000000000 + g)::text, k, 'IMPORTED',"
        " '1990-01-01', 'M', '+6281234567890', 'Jl. Inti', 'Petani', 2000000, 'JKK,JKM',"
        " '2024-05-01', 'import', 'import', gen_random_uuid(), now(), now(), 'import'"
        " FROM unnest($1::text[]) WITH ORDINALITY AS t(k, g)",
        [KPJ_OF_3, KPJ_OF_4],
    )
    event = registrations(1, offset=0)[0]

    result = await own_store.recorder().apply([event])

    assert result.recorded == 1
    minted = await admin.fetchrow(
        "SELECT id, kpj, source FROM members WHERE nik = $1", event.envelope.member_key
    )
    assert (minted["id"], minted["kpj"], minted["source"]) == (5, KPJ_OF_5, "hub")
    held = await admin.fetch("SELECT kpj FROM members WHERE source = 'import' ORDER BY id")
    assert [r["kpj"] for r in held] == [KPJ_OF_3, KPJ_OF_4]
