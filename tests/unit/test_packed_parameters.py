"""A batch's column packed into one parameter (``hub.store.packed``): what is sent, and
what cannot be."""

from uuid import UUID

import pytest

from hub.store.packed import joined, uuid_bytes


def test_values_are_joined_with_commas_in_their_order() -> None:
    assert joined(["RegistrationSubmitted", "ContributionPaid"]) == (
        "RegistrationSubmitted,ContributionPaid"
    )
    assert joined([3, 0, 9_000_000_001]) == "3,0,9000000001"
    assert joined([]) == ""


@pytest.mark.parametrize(
    "values", [["a,b"], ["ok", "a,b"], [","], [""]], ids=["one", "among", "only", "empty"]
)
def test_a_value_that_would_not_come_back_whole_is_refused(values: list[str]) -> None:
    with pytest.raises(ValueError, match="cannot be sent joined"):
        joined(values)


def test_empty_values_among_others_still_come_back_one_for_one() -> None:
    assert joined(["", "a", ""]) == ",a,"


def test_uuids_are_their_sixteen_bytes_one_after_another() -> None:
    first = UUID("00112233-4455-6677-8899-aabbccddeeff")
    second = UUID("ffeeddcc-bbaa-9988-7766-554433221100")
    assert uuid_bytes([first, second]) == bytes.fromhex(
        "00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100"
    )
