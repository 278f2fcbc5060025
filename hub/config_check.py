"""What production refuses to start with, and the settings as an operator may see them.

``HUB_ENV=production`` with nothing else set would otherwise start on SQLite,
the embedded broker and no partners. ``refuse_unsafe`` stops it, naming every
problem; ``hub config check`` prints the resolved settings, secrets masked, and
the same problems.
"""

import tomllib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hub.settings import CONFIG_DIR, Settings

MASK = "**********"
_SECRET_WORDS = ("secret", "password", "token_key", "private", "api_key")
_PUBLIC_CONFIGS = ("dev.toml", "test.toml")
"""Files in the repository whose secrets and keys are public, hence never for production."""


class UnsafeConfig(SystemExit):
    """Production settings that must not serve partners; the message names each problem."""


def production_problems(settings: Settings) -> list[str]:
    """Every reason these settings are unsafe for production (empty when they are fine)."""
    problems: list[str] = []
    if not _is_postgresql(settings.database_url):
        problems.append(
            "DATABASE_URL is not a PostgreSQL URL (postgresql+asyncpg://...); "
            "production never runs on SQLite"
        )
    if settings.uses_embedded_broker:
        problems.append(
            "KAFKA_BOOTSTRAP_SERVERS is empty; production never runs the embedded broker"
        )
    if not settings.partners:
        problems.append("no PARTNERS are configured")
    public = set(_public_secrets())
    for path, value in _secrets_in(settings):
        if value and value in public:
            problems.append(f"{path} is a value from config/dev.toml or config/test.toml")
    for partner_id, partner in sorted(settings.partners.items()):
        try:
            ZoneInfo(partner.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"partners.{partner_id}.timezone {partner.timezone!r} is not a time zone"
            )
        if partner.callback_url is not None:
            url = urlsplit(partner.callback_url)
            if url.scheme != "https" or not url.hostname:
                problems.append(f"partners.{partner_id}.callback_url is not an https:// URL")
    return problems


def refuse_unsafe(settings: Settings) -> None:
    """Under ``env = production``, raise ``UnsafeConfig`` naming every problem found."""
    if settings.env != "production":
        return
    problems = production_problems(settings)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise UnsafeConfig(f"refusing to start in production:\n{lines}")


def masked(settings: Settings) -> dict[str, Any]:
    """The resolved settings with every secret replaced by ``**********``."""
    data = settings.model_dump(mode="json")
    if settings.database_url:
        try:
            data["database_url"] = make_url(settings.database_url).render_as_string(
                hide_password=True
            )
        except ArgumentError:
            data["database_url"] = MASK
    masked_data: dict[str, Any] = _mask(data)
    return masked_data


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, str) and value and any(w in key.lower() for w in _SECRET_WORDS):
        return MASK
    return value


def _secrets_in(settings: Settings) -> Iterator[tuple[str, str]]:
    """Every secret and key of the settings, with where it sits."""
    yield "kafka_sasl_password", settings.kafka_sasl_password.get_secret_value()
    for partner_id, partner in settings.partners.items():
        yield f"partners.{partner_id}.secret", partner.secret.get_secret_value()
        if partner.previous_secret is not None:
            previous = partner.previous_secret.get_secret_value()
            yield f"partners.{partner_id}.previous_secret", previous
        if partner.public_key:
            yield f"partners.{partner_id}.public_key", _pem_body(partner.public_key)
    for slug, options in settings.channels.items():
        for key, value in options.items():
            if isinstance(value, str) and any(w in key.lower() for w in (*_SECRET_WORDS, "key")):
                yield f"channels.{slug}.{key}", value


def _public_secrets() -> Iterator[str]:
    for name in _PUBLIC_CONFIGS:
        path = CONFIG_DIR / name
        if not path.exists():
            continue
        data = tomllib.loads(path.read_text())
        for partner in data.get("partners", {}).values():
            for key in ("secret", "previous_secret"):
                if isinstance(partner.get(key), str):
                    yield partner[key]
            if isinstance(partner.get("public_key"), str):
                yield _pem_body(partner["public_key"])
        for options in data.get("channels", {}).values():
            for key, value in options.items():
                if isinstance(value, str) and "key" in key.lower():
                    yield value
        password = data.get("kafka_sasl_password")
        if isinstance(password, str) and password:
            yield password


def _pem_body(pem: str) -> str:
    """A PEM key without its armour and whitespace, so reformatting does not hide a reuse."""
    return "".join(line.strip() for line in pem.splitlines() if not line.startswith("-----"))


def _is_postgresql(url: str) -> bool:
    if not url:
        return False
    try:
        return make_url(url).get_backend_name() == "postgresql"
    except ArgumentError:
        return False
