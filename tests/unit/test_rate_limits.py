"""Token buckets: the rule, and the in-process store."""

import pytest

from hub.limits.buckets import Bucket, LocalLimiter, take_token
from hub.settings import RateLimit, load_settings

HUNDRED = RateLimit(per_s=100, burst=200)
SLOW = RateLimit(per_s=2, burst=3)


def test_a_new_bucket_starts_full_and_the_first_request_passes() -> None:
    bucket, wait = take_token(None, 0.0, SLOW)
    assert (bucket.tokens, wait) == (2.0, 0.0)


def test_a_burst_passes_then_the_next_request_waits_for_one_token() -> None:
    bucket = None
    waits = []
    for _ in range(4):
        new, wait = take_token(bucket, 10.0, SLOW)
        bucket = new
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 0.5]  # 3 at once, then 1 token / 2 per s


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst() -> None:
    bucket, _ = take_token(Bucket(0.0, 0.0), 0.25, SLOW)  # 0.5 token: refused
    assert bucket == Bucket(0.0, 0.0)
    bucket, wait = take_token(bucket, 0.5, SLOW)  # 1 token: passes
    assert (round(bucket.tokens, 9), wait) == (0.0, 0.0)
    bucket, _ = take_token(Bucket(0.0, 0.0), 3600.0, SLOW)
    assert bucket.tokens == 2.0  # full at 3, minus this request


def test_a_refused_request_does_not_push_the_next_token_further_away() -> None:
    empty = Bucket(0.0, 0.0)
    after, wait = take_token(empty, 0.1, SLOW)
    assert after == empty
    assert wait == pytest.approx(0.4)  # 0.2 token there, 0.8 to go at 2 a second


async def test_a_hundred_per_second_with_a_burst_of_two_hundred() -> None:
    now = [0.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    passed = [await limiter.take("demo|POST /v1/payments", HUNDRED) == 0 for _ in range(250)]
    assert passed.count(True) == 200
    now[0] = 1.0
    passed = [await limiter.take("demo|POST /v1/payments", HUNDRED) == 0 for _ in range(150)]
    assert passed.count(True) == 100


async def test_each_partner_and_operation_has_its_own_bucket() -> None:
    limiter = LocalLimiter(clock=lambda: 0.0)
    for _ in range(3):
        await limiter.take("demo|POST /v1/payments", SLOW)
    assert await limiter.take("demo|POST /v1/payments", SLOW) > 0
    assert await limiter.take("other|POST /v1/payments", SLOW) == 0
    assert await limiter.take("demo|POST /v1/registrations", SLOW) == 0


def test_configured_limits_default_inquiry_nik_and_upload() -> None:
    settings = load_settings()
    assert settings.rate_limit("demo", "POST /v1/payments", "default") == RateLimit(
        per_s=100, burst=200
    )
    assert settings.rate_limit("demo", "POST /v1/payments/inquiry", "inquiry").per_s == 20
    nik = settings.rate_limit("demo", "inquiry_by_nik", "inquiry_by_nik")
    assert nik.per_s < 20
    assert settings.rate_limit("pos-jakarta", "POST /pos/v1/pendaftaran/unggah", "upload") != (
        settings.rate_limit("pos-jakarta", "POST /pos/v1/pendaftaran", "default")
    )


def test_a_partners_own_limit_wins_over_the_class_default() -> None:
    settings = load_settings(
        partners={
            "big": {"secret": "s", "rate_limits": {"default": {"per_s": 500, "burst": 1000}}},
            "one-op": {
                "secret": "s",
                "rate_limits": {"POST /v1/payments": {"per_s": 1, "burst": 1}},
            },
        }
    )
    assert settings.rate_limit("big", "POST /v1/payments", "default").per_s == 500
    assert settings.rate_limit("one-op", "POST /v1/payments", "default").per_s == 1
    assert settings.rate_limit("one-op", "POST /v1/reversals", "default").per_s == 100
