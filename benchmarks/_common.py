"""What both benchmarks share: valid test people, throw-away databases, result tables."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import orjson

from hub.simulator.people import Person, hub_api_registration

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")

PROVINCE = "51"  # Bali (WITA)
_FIRST_BIRTH_DATE = date(1960, 1, 1)
_BIRTH_DATE_SPAN_DAYS = 16_000  # 1960 .. 2003
_GIVEN = ("KETUT", "MADE", "WAYAN", "NYOMAN", "PUTU", "KADEK", "GEDE", "AYU", "DEWI", "AGUS")
_FAMILY = ("SUTRISNO", "LESTARI", "WIJAYA", "PRATAMA", "SARI", "SANTOSO", "HANDAYANI", "PUTRA")
_OCCUPATIONS = ("pedagang", "tukang jahit", "petani", "nelayan", "ojek online", "buruh harian")
MAX_PEOPLE = 99 * 99 * 9999


def person(i: int) -> Person:
    """The ``i``-th distinct valid person (0 <= i < MAX_PEOPLE): NIKs never repeat."""
    if not 0 <= i < MAX_PEOPLE:
        raise ValueError("person index out of range")
    regency = 1 + i % 99
    district = 1 + (i // 99) % 99
    serial = 1 + i // (99 * 99)
    birth = _FIRST_BIRTH_DATE + timedelta(days=(i * 7919) % _BIRTH_DATE_SPAN_DAYS)
    sex = "F" if i % 2 else "M"
    day = birth.day + (40 if sex == "F" else 0)
    nik = (
        f"{PROVINCE}{regency:02d}{district:02d}"
        f"{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    )
    return Person(
        nik=nik,
        full_name=f"{_GIVEN[i % len(_GIVEN)]} {_FAMILY[(i // 10) % len(_FAMILY)]}",
        birth_date=birth,
        sex=sex,
        phone=f"0812{i % 100_000_000:08d}",
        address=f"Jl. Gatot Subroto {1 + i % 400}, Denpasar",
        occupation=_OCCUPATIONS[i % len(_OCCUPATIONS)],
    )


def registration_body(reference: str, p: Person) -> bytes:
    """The JSON body of a POST /v1/registrations, compact as a partner's host sends it."""
    return orjson.dumps(hub_api_registration(p, reference))


def run_id() -> str:
    return secrets.token_hex(4)


def asyncpg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def hub_env(database: str, broker: str = "auto") -> dict[str, str]:
    """``hub run``'s environment: dev settings, this database, the embedded broker asked for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_ENV"] = "dev"
    env["HUB_DATABASE_URL"] = sqlalchemy_url(database)
    env["HUB_EMBEDDED_BROKER"] = broker
    # Rate limits still taken (and measured), never refusing a benchmark's load.
    env["HUB_RATE_LIMITS"] = '{"default": {"per_s": 1000000, "burst": 1000000}}'
    return env


@contextlib.asynccontextmanager
async def temporary_database(prefix: str = "hub_bench") -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, dropped (connections and all) on the way out."""
    name = f"{prefix}_{run_id()}"
    admin = await asyncpg.connect(asyncpg_dsn("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        admin = await asyncpg.connect(asyncpg_dsn("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a result table: a figure, and optionally the target it is held to."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None


def print_table(title: str, rows: Sequence[Row]) -> None:
    print()
    print(title)
    for line in _table_lines(rows):
        print(line)


def _table_lines(rows: Sequence[Row]) -> Iterator[str]:
    header = ("figure", "value", "target", "")
    cells = [
        (r.name, r.value, r.target, "" if r.met is None else ("met" if r.met else "NOT MET"))
        for r in rows
    ]
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(4)]

    def fmt(c: tuple[str, str, str, str]) -> str:
        return f"  {c[0]:<{widths[0]}}  {c[1]:>{widths[1]}}  {c[2]:<{widths[2]}}  {c[3]}".rstrip()

    yield fmt(header)
    yield "  " + "-" * (sum(widths) + 6)
    for c in cells:
        yield fmt(c)


def fmt_rate(per_s: float) -> str:
    return f"{per_s:,.0f}/s"


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms"


def append_results(
    path: Path, benchmark: str, broker: str, figures: dict[str, float | int | bool | None]
) -> None:
    """One benchmark's figures as a JSON line, for ``benchmarks.run``'s targets table."""
    with path.open("a") as out:
        out.write(json.dumps({"benchmark": benchmark, "broker": broker, "figures": figures}))
        out.write("\n")
