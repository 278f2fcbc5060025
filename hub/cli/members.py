"""``hub members``: load members from the agency's core; list lapsed members."""

import asyncio
import codecs
import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.bootstrap import coverage_rules, schedule_from
from hub.cli.settlement import parse_day
from hub.membership.imported import IMPORT_COLUMNS
from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.lapses import lapsed_members
from hub.store.member_import import MemberImporter, file_sha256

members = typer.Typer(help="Members from the agency's core, and lapsed members.")
console = Console()


def _not_utf8_at(path: Path) -> tuple[int, int] | None:
    """(line, byte) of the file's first byte that is not UTF-8, or None: checked before a
    row is imported, so a file saved in another encoding imports nothing."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 1
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # exc.object: the block, after at most 3 bytes of an unfinished character.
                bad = exc.object[exc.start]
                return lines_before + exc.object[: exc.start].count(b"\n"), bad
            lines_before += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return lines_before, exc.object[exc.start]
    return None


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
    """The file's rows with their line numbers, read one at a time (never all at once)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise typer.BadParameter(f"missing columns: {', '.join(missing)}", param_hint="FILE")
        for row in reader:
            yield reader.line_num, dict(row)


@members.command("import")
def import_members(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    by: Annotated[str, typer.Option("--by", help="Who runs the import (kept in the audit)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit)")] = (
        "members from the agency's core"
    ),
) -> None:
    """Load members with the KPJs the agency issued (CSV; see docs/membership.md).

    Safe to run again: members already present are left alone.
    """
    settings = load_settings()
    foreign = _not_utf8_at(file)
    if foreign is not None:
        line, byte = foreign
        problem = f"line {line}: byte 0x{byte:02x} is not UTF-8 text"
        console.print(f"[red]{file.name}, {problem}; nothing imported[/]")
        raise typer.Exit(2)

    async def main() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            report = await MemberImporter(engine, schedule_from(settings)).run(
                _rows(file),
                file_name=file.name,
                sha256=file_sha256(str(file)),
                by=by,
                reason=reason,
            )
        finally:
            await engine.dispose()
        console.print(
            f"import {report.import_id}: {report.rows_read} rows, {report.added} added, "
            f"{report.already_present} already present, {report.refused} refused"
        )
        for problem in sorted(report.problems, key=lambda p: p.line)[:50]:
            console.print(f"  line {problem.line}: {problem.reason}")
        if report.refused > 50:
            console.print(f"  ... and {report.refused - 50} more")

    asyncio.run(main())


@members.command("lapsed")
def list_lapsed(
    on: Annotated[
        str | None, typer.Option("--on", help="As of this day (YYYY-MM-DD); default today")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 100,
) -> None:
    """Members whose membership period has lapsed, and the day it lapsed."""
    settings = load_settings()
    rules = coverage_rules(settings)
    today = parse_day(on) if on else rules.calendar.today(datetime.now(UTC))

    async def main() -> None:
        engine = create_engine(settings.resolved_database_url)
        table = Table("KPJ", "paid through", "period from", "lapsed on", "history row")
        shown = 0
        try:
            async for m in lapsed_members(engine, rules, today):
                table.add_row(
                    m.kpj,
                    f"{m.paid_through:%Y-%m}",
                    f"{m.period_start:%Y-%m}",
                    m.lapsed_on.isoformat(),
                    "written" if m.recorded else "on next event",
                )
                shown += 1
                if shown >= limit:
                    break
        finally:
            await engine.dispose()
        console.print(table)

    asyncio.run(main())
