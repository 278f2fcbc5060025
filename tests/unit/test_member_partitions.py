"""A member's events go to the partition Kafka's Java clients would choose for its key.

Every expected value below was printed by Apache Kafka's own client (kafka-clients
4.1.1, ``org.apache.kafka.common.utils.Utils.murmur2`` and ``toPositive(h) % n``), run
with Java 17 on this project's Kafka libraries: fixed answers, not this module's.
"""

import pytest

from hub.kafka.partitioner import MemberPartitioner, murmur2, partition_of

# key: (Utils.murmur2 as Java's signed int, partition of 12, partition of 4)
JAVA_CLIENT = {
    "": (275646681, 9, 1),
    "1": (-1993445489, 3, 3),
    "12": (126087238, 10, 2),
    "123": (-267702483, 5, 1),
    "1234": (-1614185708, 0, 0),
    "12345": (-1188365604, 8, 0),
    "5171044508900001": (-1743589366, 10, 2),
    "3174015506880002": (648810441, 9, 1),
    "1101010101010001": (1696597952, 8, 0),
    "a-little-bit-long-string": (-985981536, 8, 0),
}


def _as_java_int(unsigned: int) -> int:
    return unsigned - (1 << 32) if unsigned & 0x8000_0000 else unsigned


@pytest.mark.parametrize("key", list(JAVA_CLIENT))
def test_murmur2_is_the_hash_kafkas_java_client_computes(key: str) -> None:
    # Lengths 0 to 5, 16 and 24: every tail of 0 to 3 bytes after the 4-byte words.
    assert _as_java_int(murmur2(key.encode())) == JAVA_CLIENT[key][0]


@pytest.mark.parametrize("key", list(JAVA_CLIENT))
def test_a_key_goes_to_the_partition_kafkas_java_client_chooses(key: str) -> None:
    _, of_12, of_4 = JAVA_CLIENT[key]
    assert partition_of(key.encode(), 12) == of_12
    assert partition_of(key.encode(), 4) == of_4


def test_the_producers_partitioner_chooses_by_the_key_among_all_partitions() -> None:
    partitioner = MemberPartitioner()
    every = list(range(12))
    # Only some partitions have a leader just now: a member's events still keep theirs.
    assert partitioner(b"5171044508900001", every, [0, 1]) == 10
    assert partitioner(b"3174015506880002", every, every) == 9


def test_the_producers_partitioner_refuses_an_event_without_a_member_key() -> None:
    with pytest.raises(ValueError, match="keyed by their member"):
        MemberPartitioner()(None, list(range(12)), list(range(12)))
