"""Operator passwords and console sessions: what opens the console and what does not."""

from hub.observability.lag import lag_of
from hub.ops.passwords import hash_password, verify_password
from hub.ops.sessions import SessionSigner

KNOWN = hash_password("correct horse", salt=bytes(16))


def test_a_password_matches_only_its_own_hash() -> None:
    assert verify_password("correct horse", KNOWN)
    assert not verify_password("correct hors", KNOWN)
    assert not verify_password("correct horse", KNOWN.replace("scrypt$", "md5$"))
    assert not verify_password("correct horse", "not a hash")
    assert not verify_password("correct horse", KNOWN[:-1] + "\u00e9")  # a mangled config


def test_the_hash_is_salted_scrypt_and_never_the_password() -> None:
    assert KNOWN.startswith("scrypt$32768$8$1$" + "00" * 16 + "$")
    assert "correct horse" not in KNOWN
    assert hash_password("correct horse") != hash_password("correct horse")


def test_a_session_cookie_names_its_operator_until_it_expires() -> None:
    signer = SessionSigner(b"k" * 32, ttl_s=60)
    cookie = signer.issue("ayu", now=1000.0)
    session = signer.read(cookie, now=1059.0)
    assert session is not None and session.operator == "ayu"
    assert signer.read(cookie, now=1061.0) is None


def test_a_forged_or_foreign_session_cookie_opens_nothing() -> None:
    signer = SessionSigner(b"k" * 32, ttl_s=60)
    cookie = signer.issue("ayu", now=1000.0)
    operator, expires, nonce, mac = cookie.split("|")
    assert signer.read(f"root|{expires}|{nonce}|{mac}", now=1000.0) is None
    assert signer.read(f"{operator}|{int(expires) + 3600}|{nonce}|{mac}", now=1000.0) is None
    assert SessionSigner(b"x" * 32, ttl_s=60).read(cookie, now=1000.0) is None
    assert signer.read("demo", now=1000.0) is None
    # Cookie headers are latin-1: a byte beyond ASCII is a forgery, not a crash.
    assert signer.read(f"{operator}|{expires}|{nonce}|{mac[:-1]}\u00e9", now=1000.0) is None


def test_the_csrf_token_belongs_to_one_session() -> None:
    signer = SessionSigner(b"k" * 32, ttl_s=60)
    one = signer.read(signer.issue("ayu", now=1000.0), now=1000.0)
    two = signer.read(signer.issue("ayu", now=1000.0), now=1000.0)
    assert one is not None and two is not None
    assert signer.csrf_ok(one, signer.csrf_token(one))
    assert not signer.csrf_ok(one, signer.csrf_token(two))
    assert not signer.csrf_ok(one, None)
    assert not signer.csrf_ok(one, "")
    assert not signer.csrf_ok(one, "\u00e9" * 64)


def test_lag_counts_from_the_commit_or_from_the_first_offset_kept() -> None:
    assert lag_of(end=100, beginning=0, committed=None) == 100
    assert lag_of(end=100, beginning=0, committed=60) == 40
    assert lag_of(end=100, beginning=30, committed=None) == 70
    assert lag_of(end=100, beginning=30, committed=10) == 70  # commit older than retention
    assert lag_of(end=100, beginning=0, committed=100) == 0
