"""Alembic migrations of the membership store; run with ``hub migrate``."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Bring the database at ``database_url`` to the latest schema (blocking)."""
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    """Same, from inside a running event loop (Alembic runs its own loop in a thread)."""
    await asyncio.to_thread(upgrade_to_head, database_url)
