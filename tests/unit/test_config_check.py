"""Production refuses unsafe settings, naming each problem; ``hub config check`` shows them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.config_check import UnsafeConfig, masked, production_problems, refuse_unsafe
from hub.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
SAFE = {
    "env": "production",
    "database_url": "postgresql+asyncpg://hub:s3cret-pw@db.internal/hub",
    "kafka_bootstrap_servers": "kafka-1.internal:9092",
    "partners": {
        "bri": {
            "secret": "a-production-secret-from-the-vault",
            "channel": "brilink",
            "callback_url": "https://bri.example/bpu/callbacks",
            "timezone": "Asia/Makassar",
        }
    },
    "channels": {},
}


@pytest.fixture(autouse=True)
def production_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read config/hub.toml + config/production.toml, as a production hub does."""
    monkeypatch.setenv("HUB_ENV", "production")


def settings(**changes: object) -> object:
    return load_settings(**{**SAFE, **changes})


def test_safe_production_settings_have_no_problem() -> None:
    assert production_problems(settings()) == []  # type: ignore[arg-type]
    refuse_unsafe(settings())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"database_url": ""}, "DATABASE_URL is not a PostgreSQL URL"),
        ({"database_url": "sqlite+aiosqlite:///var/hub.db"}, "DATABASE_URL is not a PostgreSQL"),
        ({"kafka_bootstrap_servers": ""}, "KAFKA_BOOTSTRAP_SERVERS is empty"),
        ({"partners": {}}, "no PARTNERS are configured"),
        (
            {"partners": {"bri": {"secret": "bri-secret", "channel": "brilink"}}},
            "partners.bri.secret is a value from config/dev.toml or config/test.toml",
        ),
        (
            {"partners": {"x": {"secret": "demo-secret"}}},
            "partners.x.secret is a value from config/dev.toml or config/test.toml",
        ),
        (
            {"partners": {"x": {"secret": "prod-secret-2", "previous_secret": "demo-secret"}}},
            "partners.x.previous_secret is a value from config/dev.toml or config/test.toml",
        ),
        (
            {"channels": {"bank": {"token_key": "dev-only-snap-token-key"}}},
            "channels.bank.token_key is a value from config/dev.toml or config/test.toml",
        ),
        (
            {"partners": {"bri": {"secret": "prod-secret-1", "timezone": "Asia/Bali"}}},
            "partners.bri.timezone 'Asia/Bali' is not a time zone",
        ),
        (
            {
                "partners": {
                    "bri": {"secret": "prod-secret-1", "callback_url": "http://bri.example/cb"}
                }
            },
            "partners.bri.callback_url is not an https:// URL",
        ),
        (
            {"partners": {"bri": {"secret": "prod-secret-1", "callback_url": "bri.example/cb"}}},
            "partners.bri.callback_url is not an https:// URL",
        ),
    ],
)
def test_each_unsafe_setting_is_named(changes: dict[str, object], problem: str) -> None:
    found = production_problems(settings(**changes))  # type: ignore[arg-type]
    assert found == [problem] or any(problem in p for p in found), found
    with pytest.raises(UnsafeConfig, match="refusing to start in production"):
        refuse_unsafe(settings(**changes))  # type: ignore[arg-type]


def test_a_dev_key_reformatted_is_still_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ENV", "test")
    pem = load_settings().partners["mandiri"].public_key or ""
    monkeypatch.setenv("HUB_ENV", "production")
    reflowed = "\n".join(line.strip() + "  " for line in pem.splitlines())
    partners = {"m": {"secret": "prod-secret-1", "channel": "bank", "public_key": reflowed}}
    assert production_problems(settings(partners=partners)) == [  # type: ignore[arg-type]
        "partners.m.public_key is a value from config/dev.toml or config/test.toml"
    ]


def test_outside_production_nothing_is_refused() -> None:
    refuse_unsafe(load_settings(env="dev", partners={}))


def test_masked_settings_show_no_secret() -> None:
    rotating = {"bri": {**SAFE["partners"]["bri"], "previous_secret": "last-years-secret"}}  # type: ignore[index]
    shown = json.dumps(
        masked(settings(channels={"bank": {"token_key": "k-123"}}, partners=rotating))  # type: ignore[arg-type]
    )
    assert "a-production-secret-from-the-vault" not in shown
    assert "last-years-secret" not in shown
    assert "s3cret-pw" not in shown
    assert "k-123" not in shown
    assert "postgresql+asyncpg://hub:***@db.internal/hub" in shown


def _hub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_config_check_in_production_with_nothing_set_exits_non_zero_naming_each_problem() -> None:
    done = _hub("config", "check", env={"HUB_ENV": "production"})
    assert done.returncode == 1
    assert "DATABASE_URL is not a PostgreSQL URL" in done.stdout
    assert "KAFKA_BOOTSTRAP_SERVERS is empty" in done.stdout
    assert "no PARTNERS are configured" in done.stdout


def test_config_check_of_safe_production_settings_exits_zero_with_secrets_masked() -> None:
    env = {
        "HUB_ENV": "production",
        "HUB_DATABASE_URL": SAFE["database_url"],
        "HUB_KAFKA_BOOTSTRAP_SERVERS": "kafka-1.internal:9092",
        "HUB_PARTNERS": json.dumps(SAFE["partners"]),
    }
    done = _hub("config", "check", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "a-production-secret-from-the-vault" not in done.stdout
    assert "s3cret-pw" not in done.stdout
    assert '"secret": "**********"' in done.stdout


def test_hub_refuses_to_start_in_production_with_nothing_set() -> None:
    done = _hub("run", "--port", "0", env={"HUB_ENV": "production"})
    assert done.returncode != 0
    assert "refusing to start in production" in done.stderr + done.stdout
    assert "no PARTNERS are configured" in done.stderr + done.stdout
