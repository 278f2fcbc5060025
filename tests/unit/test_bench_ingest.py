"""The ingest benchmark's baseline: the bare endpoint before and after the hub's run."""

from benchmarks.ingest import bracketed_rate


def test_the_hub_is_judged_against_the_middle_of_its_bracket() -> None:
    # The machine slowed down while the hub ran: neither end alone is its speed then.
    assert bracketed_rate(4_450.0, 3_757.0) == 4_103.5
    assert bracketed_rate(3_000.0, 3_000.0) == 3_000.0
