"""Leased tokens: how many a process takes ahead of its requests, and how long they last."""

from hub.limits.leases import Leases, lease_cap
from hub.settings import RateLimit

KEY = "demo|POST /v1/registrations"
BUSY = RateLimit(per_s=1_000, burst=2_000)
"""A lease of at most 100 tokens: what the bucket refills in 0.1 s, under a tenth of 200."""


def test_a_lease_is_at_most_a_tenth_of_the_burst_and_a_tenth_of_a_seconds_refill() -> None:
    assert lease_cap(RateLimit(per_s=100, burst=200)) == 10
    assert lease_cap(RateLimit(per_s=1_000, burst=50)) == 5
    assert lease_cap(BUSY) == 100
    assert lease_cap(RateLimit(per_s=0.1, burst=5)) == 0


def test_a_bucket_asked_sparsely_takes_no_lease() -> None:
    leases = Leases()
    for at in (0.0, 0.25, 0.5, 0.75):
        assert not leases.spend(KEY, at)
        assert leases.wanted_ahead(KEY, BUSY) == 0


def test_a_busy_bucket_asks_ahead_for_its_last_windows_demand_up_to_the_cap() -> None:
    leases = Leases()
    for i in range(30):
        leases.spend(KEY, i * 0.003)  # 30 requests within the first 0.1 s
    leases.spend(KEY, 0.1)
    assert leases.wanted_ahead(KEY, BUSY) == 30
    assert leases.wanted_ahead(KEY, RateLimit(per_s=100, burst=200)) == 10


def test_a_window_with_no_request_forgets_the_demand_before_it() -> None:
    leases = Leases()
    for i in range(30):
        leases.spend(KEY, i * 0.003)
    leases.spend(KEY, 0.25)  # more than a whole window later
    assert leases.wanted_ahead(KEY, BUSY) == 0


def test_granted_tokens_let_the_next_requests_pass_until_spent() -> None:
    leases = Leases()
    leases.grant(KEY, 3, now=1.0)
    assert [leases.spend(KEY, 1.01) for _ in range(4)] == [True, True, True, False]


def test_a_leased_token_not_spent_within_the_lease_is_dropped() -> None:
    leases = Leases()
    leases.grant(KEY, 3, now=1.0)
    assert leases.spend(KEY, 1.09)
    assert not leases.spend(KEY, 1.1)
    leases.grant(KEY, 1, now=1.2)  # a new lease does not bring the dropped ones back
    assert [leases.spend(KEY, 1.21) for _ in range(2)] == [True, False]


def test_nothing_granted_beyond_the_requests_leases_nothing() -> None:
    leases = Leases()
    leases.grant(KEY, 0, now=1.0)
    leases.grant(KEY, -2, now=1.0)  # fewer granted than asked for: some were refused
    assert not leases.spend(KEY, 1.01)
