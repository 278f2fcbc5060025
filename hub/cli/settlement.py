"""``hub settle`` and ``hub reconcile``: close a partner's day, match its settlement file."""

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer import _click
from typer.core import TyperGroup

from hub.bootstrap import intake_for, partners_of, reconciler
from hub.channels import UnknownChannel, settlement_reader
from hub.cli.progress import file_progress
from hub.errors import HubError
from hub.kafka.publisher import KafkaEventPublisher
from hub.reconciliation.internal import check_day
from hub.reconciliation.lines import SettlementFileError
from hub.reconciliation.matcher import CATEGORIES
from hub.reconciliation.resolution import DECISIONS, DecisionKind, Resolver
from hub.reconciliation.store import ReconciliationStore
from hub.settings import Settings, load_settings
from hub.settlement.book import SettlementBook
from hub.store.database import create_engine

console = Console()
By = Annotated[str, typer.Option("--by", help="Who does it (kept in the audit)")]


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-12-01") from None


def _run(main: Coroutine[Any, Any, int]) -> None:
    code = asyncio.run(main)
    raise typer.Exit(code)


def _partner(settings: Settings, partner_id: str) -> None:
    if partner_id not in settings.partners:
        console.print(f"[red]no partner {partner_id!r} in config[/]")
        raise typer.Exit(2)


def _rp(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


settle = typer.Typer(help="Close a partner's business day (its totals are then frozen).")


@settle.command("close")
def close(
    partner: str, business_date: Annotated[str, typer.Argument(metavar="DATE")], by: By
) -> None:
    """Freeze the hub's view of PARTNER's DATE: counts and rupiah totals per programme.

    Idempotent: closing a closed day shows the totals frozen the first time. Payments
    and reversals that arrive later go to the next open day, flagged after_close.
    """
    settings = load_settings()
    _partner(settings, partner)
    day = parse_day(business_date)

    async def main() -> int:
        engine = create_engine(settings.resolved_database_url)
        try:
            closed = await SettlementBook(engine).close(partner, day, by, datetime.now(UTC))
        finally:
            await engine.dispose()
        verb = "closed" if closed.newly_closed else "already closed"
        console.print(
            f"{partner} {day}: {verb} at {closed.closed_at:%Y-%m-%d %H:%M:%S %Z} "
            f"by {closed.closed_by}"
        )
        t = closed.totals
        table = Table("programme", "payments", "reversed", "net")
        for name, amounts in t.programmes.items():
            table.add_row(
                name, _rp(amounts["payments"]), _rp(amounts["reversed"]), _rp(amounts["net"])
            )
        table.add_row(
            f"all ({t.payments:,} payments, {t.reversed:,} reversed)",
            _rp(t.payments_amount),
            _rp(t.reversed_amount),
            _rp(t.net_amount),
        )
        console.print(table)
        return 0

    _run(main())


class _MatchByDefault(TyperGroup):
    """``hub reconcile PARTNER DATE FILE`` runs ``match``; resolve/internal are subcommands."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["match", *args]
        return super().parse_args(ctx, args)


reconcile = typer.Typer(
    cls=_MatchByDefault,
    help="Match a partner's settlement file against the hub (hub reconcile PARTNER DATE FILE).",
)


@reconcile.command("match")
def match(
    partner: str,
    business_date: Annotated[str, typer.Argument(metavar="DATE")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    by: Annotated[str, typer.Option("--by", help="Who runs it")] = "cli",
) -> None:
    """Stream FILE (the partner's own format) against PARTNER's hub rows of DATE.

    Writes var/reconciliation/PARTNER/DATE/{summary.json, exceptions.csv, report.html}.
    Exit status: 0 every line matched, 1 exceptions, 2 the file could not be read.
    """
    settings = load_settings()
    _partner(settings, partner)
    day = parse_day(business_date)
    configured = settings.partners[partner]
    try:
        reader = settlement_reader(configured.channel)
    except UnknownChannel as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None

    async def main() -> int:
        engine = create_engine(settings.resolved_database_url)
        size = file.stat().st_size
        try:
            with file_progress(console) as progress, file.open("rb") as stream:
                task = progress.add_task(f"{file.name} ({reader.format_name})", total=size)

                def phase(text: str) -> None:
                    progress.update(task, description=f"{file.name}: {text}")

                report = await reconciler(settings, engine).reconcile(
                    partner,
                    configured.timezone,
                    day,
                    stream,
                    file.name,
                    reader,
                    by,
                    on_bytes=lambda n: progress.advance(task, n),
                    on_phase=phase,
                )
                progress.update(task, description=f"{file.name}: done")
        except SettlementFileError as exc:
            console.print(f"[red]{file.name} is not a {reader.format_name} file: {exc}[/]")
            return 2
        finally:
            await engine.dispose()
        summary = report.summary
        table = Table("category", "lines", "partner amount", "hub amount")
        for category in CATEGORIES:
            c = summary["categories"][category]
            table.add_row(
                category, f"{c['count']:,}", _rp(c["partner_amount"]), _rp(c["hub_amount"])
            )
        console.print(table)
        console.print(
            f"run {report.run_id}: {summary['file']['lines']:,} file lines in "
            f"{summary['seconds']:.1f} s; outputs in {report.output_dir}"
        )
        if report.all_matched:
            console.print("[green]every line matched[/]")
            return 0
        console.print(f"[red]{summary['exceptions']:,} exception(s)[/]")
        return 1

    _run(main())


@reconcile.command("resolve")
def resolve(
    run: int,
    line: str,
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit)")],
    decision: Annotated[
        str | None,
        typer.Option(
            help=f"One of {', '.join(DECISIONS)}; default paid_in for missing_in_hub, "
            "else accepted_difference"
        ),
    ] = None,
) -> None:
    """Decide about exception LINE of RUN: pay a missing_in_hub line in through intake
    (every normal rule; idempotent under the partner's reference), or record a decision."""
    settings = load_settings()
    if decision is not None and decision not in DECISIONS:
        console.print(f"[red]--decision must be one of {', '.join(DECISIONS)}[/]")
        raise typer.Exit(2)
    chosen: DecisionKind | None = decision

    async def main() -> int:
        engine = create_engine(settings.resolved_database_url)
        publisher = KafkaEventPublisher(settings, settings.kafka_bootstrap_servers)
        started = False
        try:
            store = ReconciliationStore(engine)
            exception = await store.exception(run, line)
            if (
                exception is not None
                and (chosen or "paid_in") == "paid_in"
                and (exception.category == "missing_in_hub")
            ):
                if settings.uses_embedded_broker:
                    console.print("[red]set HUB_KAFKA_BOOTSTRAP_SERVERS: paying in publishes[/]")
                    return 2
                await publisher.start()
                started = True
            resolver = Resolver(
                store,
                intake_for(settings, engine, publisher),
                partners_of(settings),
                lambda: datetime.now(UTC),
            )
            recorded = await resolver.resolve(
                run, line, by=by, reason=reason, decision=chosen, via="cli"
            )
        except HubError as exc:
            console.print(f"[red]{exc.code}: {exc.message}[/]")
            return 1
        finally:
            if started:
                await publisher.stop()
            await engine.dispose()
        console.print_json(
            json.dumps(
                {
                    "run": recorded.run_id,
                    "line": recorded.line,
                    "category": recorded.category,
                    "decision": recorded.decision,
                    "by": recorded.decided_by,
                    "at": recorded.decided_at.isoformat(),
                    "reason": recorded.reason,
                    "payment_reference": recorded.payment_reference,
                    "hub_reference": recorded.hub_reference,
                }
            )
        )
        return 0

    _run(main())


@reconcile.command("internal")
def internal(business_date: Annotated[str, typer.Argument(metavar="DATE")]) -> None:
    """The hub against itself for requests received on DATE (UTC): accepted vs recorded,
    contributions vs paid-through months, event ids vs processed_events. Exit 1 on findings."""
    settings = load_settings()
    day = parse_day(business_date)

    async def main() -> int:
        engine = create_engine(settings.resolved_database_url)
        try:
            report = await check_day(engine, day)
        finally:
            await engine.dispose()
        console.print(f"{day}: {report.checked['requests']:,} requests checked")
        if report.clean:
            console.print("[green]nothing acknowledged was lost; store and inbox agree[/]")
            return 0
        table = Table("check", "partner", "kind", "reference", "detail")
        for f in report.findings[:200]:
            table.add_row(f.check, f.partner_id, f.kind, f.reference, f.detail)
        console.print(table)
        console.print(f"[red]{len(report.findings):,} finding(s)[/]")
        return 1

    _run(main())
