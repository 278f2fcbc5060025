"""A readiness sub-check counts only while it is fresh: an old result means the monitor is stuck."""

from hub.observability.monitor import Check


def test_a_passed_check_is_ready_until_it_is_older_than_the_stale_limit() -> None:
    check = Check(ok=True, detail="query answered", checked_at=1_000.0, took_ms=3)
    assert check.as_json(1_015.0, stale_after_s=15.0) == {
        "ok": True,
        "detail": "query answered",
        "took_ms": 3,
    }
    assert check.as_json(1_020.0, stale_after_s=15.0) == {
        "ok": False,
        "detail": "stale: last checked 20 s ago",
        "took_ms": 3,
    }


def test_a_failed_check_is_not_ready_however_fresh() -> None:
    check = Check(ok=False, detail="TimeoutError: ", checked_at=1_000.0, took_ms=2_000)
    assert check.as_json(1_000.5, stale_after_s=15.0)["ok"] is False
