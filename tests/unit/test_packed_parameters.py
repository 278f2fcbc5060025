"""A batch's column packed into one parameter (``hub.store.packed``): what is sent, and
what cannot be."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from hub.store.packed import UNIT_SEPARATOR, epoch_micros, joined, packed_or, uuid_bytes

WIB = timezone(timedelta(hours=7))


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


def test_texts_that_may_hold_commas_are_joined_with_the_unit_separator() -> None:
    assert joined(["POS-1,2", "a.b:c/d-e"], UNIT_SEPARATOR) == "POS-1,2\x1fa.b:c/d-e"


def test_a_text_holding_the_unit_separator_is_refused_and_sent_as_an_array() -> None:
    values = ["REF-1", "REF\x1f2"]
    with pytest.raises(ValueError, match="cannot be sent joined"):
        joined(values, UNIT_SEPARATOR)
    assert packed_or(values, lambda v: joined(v, UNIT_SEPARATOR)) == (values, None)
    assert packed_or(["REF-1"], lambda v: joined(v, UNIT_SEPARATOR)) == (None, "REF-1")


def test_instants_are_microseconds_since_1970_whatever_their_zone() -> None:
    # Known answers: `date -u -d '2026-03-10 03:04:05' +%s` is 1773111845.
    assert (
        epoch_micros(
            [
                datetime(2026, 3, 10, 3, 4, 5, 678_901, tzinfo=UTC),
                datetime(2026, 3, 10, 10, 4, 5, 678_901, tzinfo=WIB),
                datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
                datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
                datetime(2026, 3, 10, 3, 4, 5, 678_901, tzinfo=UTC),
            ]
        )
        == "1773111845678901,1773111845678901,1,-1,1773111845678901"
    )
    assert epoch_micros([]) == ""


def test_an_instant_postgresql_could_not_take_exactly_is_refused() -> None:
    # PostgreSQL multiplies an interval by a float8: exact below 2**53 microseconds,
    # which is 2255-06-05 23:47:34.740992 UTC (`date -u -d @9007199254`).
    last = datetime(2255, 6, 5, 23, 47, 34, 740_991, tzinfo=UTC)
    assert epoch_micros([last]) == "9007199254740991"
    with pytest.raises(ValueError, match="too far"):
        epoch_micros([last + timedelta(microseconds=1)])
    with pytest.raises(ValueError, match="no zone"):
        epoch_micros([datetime(2026, 3, 10, 3, 4, 5)])
