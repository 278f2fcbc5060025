"""Which store URLs get TLS turned off: loopback only, and never against the URL's word."""

import pytest
from sqlalchemy.engine import make_url

from hub.store.database import _tls_args


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("postgresql+asyncpg://hub@127.0.0.1:5432/hub", {"ssl": False}),
        ("postgresql+asyncpg://hub@127.0.0.2/hub", {"ssl": False}),
        ("postgresql+asyncpg://hub@[::1]:5432/hub", {"ssl": False}),
        ("postgresql+asyncpg://hub@localhost/hub", {"ssl": False}),
        ("postgresql+asyncpg://hub@/hub", {"ssl": False}),
        ("postgresql+asyncpg://hub@db.bpjs.internal:5432/hub", {}),
        ("postgresql+asyncpg://hub@10.20.0.5:5432/hub", {}),
        ("postgresql+asyncpg://hub@127.0.0.1/hub?ssl=require", {}),
        ("postgresql+asyncpg://hub@localhost/hub?sslmode=verify-full", {}),
    ],
)
def test_only_a_loopback_store_without_an_ssl_setting_goes_without_tls(
    url: str, args: dict[str, object]
) -> None:
    assert _tls_args(make_url(url)) == args
