"""``hub changes``: the operator's review of pending member changes."""

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.settings import load_settings
from hub.store.database import create_engine
from hub.store.review import ChangeNotPending, MemberReview

changes = typer.Typer(help="Review personal data that later registrations disagreed on.")
console = Console()

Reviewer = Annotated[str, typer.Option("--by", help="Who decides (kept in member history)")]


@changes.command("list")
def list_pending(limit: int = 100) -> None:
    """Pending changes, oldest first."""

    async def main() -> None:
        engine = create_engine(load_settings().resolved_database_url)
        try:
            rows = await MemberReview(engine).pending(limit)
        finally:
            await engine.dispose()
        table = Table("id", "KPJ", "field", "current", "proposed", "from", "received")
        for r in rows:
            table.add_row(
                str(r.id),
                r.kpj,
                r.field,
                r.current_value,
                r.proposed_value,
                f"{r.channel}/{r.partner_id} {r.partner_ref}",
                f"{r.created_at:%Y-%m-%d %H:%M}",
            )
        console.print(table if rows else "no pending changes")

    asyncio.run(main())


def _decide(change_id: int, decision: str, reviewer: str) -> None:
    async def main() -> None:
        engine = create_engine(load_settings().resolved_database_url)
        try:
            await MemberReview(engine).decide(change_id, decision, reviewer)  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    try:
        asyncio.run(main())
    except ChangeNotPending as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"change #{change_id} {decision} by {reviewer}")


@changes.command()
def approve(change_id: int, by: Reviewer) -> None:
    """Apply a change to the member, recording old and new value in member history."""
    _decide(change_id, "approved", by)


@changes.command()
def reject(change_id: int, by: Reviewer) -> None:
    """Keep the member as they are; the change is closed as rejected."""
    _decide(change_id, "rejected", by)
