"""``hub dlq``, ``hub callbacks``, ``hub requests``, ``hub changes``, ``hub lag``, ``hub ops``.

The same actions as the console and ``/ops/v1``, from a shell, against the configured
store and cluster; each one is recorded in the audit table with ``--by`` and ``--reason``.
"""

import asyncio
import getpass
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Literal, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hub.kafka.publisher import KafkaEventPublisher
from hub.observability.lag import BrokerProbe
from hub.ops.actions import OperatorActions, Outcome
from hub.ops.passwords import hash_password
from hub.settings import Settings, load_settings
from hub.store.database import create_engine

console = Console()
T = TypeVar("T")

dlq = typer.Typer(help="Dead letters: events the core consumer could never apply.")
callbacks = typer.Typer(help="Partner callbacks that failed for good, and redelivery.")
requests = typer.Typer(help="Requests accepted but not recorded: find them, re-drive them.")
changes = typer.Typer(help="Review personal data that later registrations disagreed on.")
ops = typer.Typer(help="Operator console set-up.")

By = Annotated[str, typer.Option("--by", help="Who acts (recorded in the audit table)")]
MAX_ID = 2**63 - 1
"""Ids are bigints: a larger one is refused here, not by the store with a traceback."""
ChangeId = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="change id from `list`")]
Limit = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")]
Reason = Annotated[
    str, typer.Option("--reason", help="Why (recorded in the audit table)", show_default=False)
]


def _settings() -> Settings:
    return load_settings()


def _bootstrap(settings: Settings) -> str:
    if settings.uses_embedded_broker:
        console.print(
            "[red]set HUB_KAFKA_BOOTSTRAP_SERVERS to the cluster (for `hub run`'s embedded "
            "broker: the address it logs at start), or use the console at /ops/[/]"
        )
        raise typer.Exit(2)
    return settings.kafka_bootstrap_servers


@asynccontextmanager
async def _actions(publishing: bool = False, kafka: bool = True) -> AsyncIterator[OperatorActions]:
    from hub.bootstrap import operator_actions

    settings = _settings()
    bootstrap = _bootstrap(settings) if kafka else ""
    engine = create_engine(settings.resolved_database_url)
    publisher = KafkaEventPublisher(settings, bootstrap)
    try:
        if publishing:
            await publisher.start()
        yield operator_actions(settings, bootstrap, engine, publisher)
    finally:
        if publishing:
            await publisher.stop()
        await engine.dispose()


def _run(main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    return asyncio.run(wrapped())


def _table(headings: tuple[str, ...], rows: Iterable[Sequence[str | Text]], empty: str) -> None:
    """Print the rows under these headings, or ``empty`` when there are none."""
    table = Table(*headings)
    for row in rows:
        table.add_row(*row)
    console.print(table if table.row_count else empty)


def _act(act: Callable[[OperatorActions], Awaitable[list[Outcome]]], **using: bool) -> None:
    """Run one operator action (``using``: what ``_actions`` connects) and report it."""

    async def main() -> list[Outcome]:
        async with _actions(**using) as actions:
            return await act(actions)

    _report(_run(main))


def _report(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        mark = "[green]ok[/]" if o.ok else "[red]refused[/]"
        console.print(f"{mark} {escape(o.target)}: {escape(o.message)}")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@dlq.command("list")
def dlq_list(limit: Limit = 100) -> None:
    """The newest dead letters, with their (masked) error."""

    async def main() -> None:
        async with _actions() as actions:
            letters = await actions.dead_letters.letters(limit)
            replayed = await actions.replayed_letters()
        rows = [
            (
                d.id,
                f"{d.dead_lettered_at:%Y-%m-%d %H:%M:%S}",
                Text(f"{d.event_type or '?'} {d.event_id or ''}"),
                Text(f"{d.partner_id or ''} {d.reference or ''}"),
                Text(d.error[:160]),
                "yes" if d.id in replayed else "",
            )
            for d in letters
        ]
        headings = ("id", "dead-lettered", "event", "partner / reference", "error", "replayed")
        _table(headings, rows, "no dead letters")

    _run(main)


@dlq.command("show")
def dlq_show(letter_id: Annotated[str, typer.Argument(help="PARTITION-OFFSET")]) -> None:
    """One dead letter: where it came from, its error and its event (masked)."""

    async def main() -> None:
        async with _actions() as actions:
            try:
                d = await actions.dead_letters.letter(letter_id)
            except LookupError as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
                raise typer.Exit(1) from None
        console.print(f"[bold]{d.id}[/] from {escape(d.source)} at {d.dead_lettered_at:%c}")
        console.print(Text(f"error: {d.error}"))
        console.print_json(json.dumps(d.masked_event()))

    _run(main)


@dlq.command("replay")
def dlq_replay(
    letter_ids: Annotated[list[str], typer.Argument(help="PARTITION-OFFSET ...")],
    by: By,
    reason: Reason,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be replayed")] = False,
) -> None:
    """Publish dead letters again to the member-events topic, with a replayed-from header."""
    _act(lambda a: a.replay(letter_ids, by, reason, "cli", dry_run), publishing=not dry_run)


@callbacks.command("list")
def callbacks_list(
    status: Annotated[
        Literal["pending", "delivered", "failed"], typer.Option(help="pending, delivered or failed")
    ] = "failed",
    limit: Limit = 100,
) -> None:
    """Callback deliveries in a status, with their attempts."""

    async def main() -> None:
        async with _actions(kafka=False) as actions:
            deliveries = await actions.callbacks(status, limit)
        rows = [
            (
                str(c.id),
                c.partner_id,
                c.reference,
                c.event,
                str(len(c.attempts)),
                Text(c.last_error or ""),
                f"{c.give_up_at:%Y-%m-%d %H:%M}",
            )
            for c in deliveries
        ]
        headings = ("id", "partner", "reference", "event", "attempts", "last error", "give up")
        _table(headings, rows, f"no {status} callbacks")

    _run(main)


@callbacks.command("redeliver")
def callbacks_redeliver(
    delivery_ids: Annotated[
        list[int], typer.Argument(min=1, max=MAX_ID, help="callback ids from `list`")
    ],
    by: By,
    reason: Reason,
) -> None:
    """Put failed callbacks back in the outbox, due now, with a fresh give-up window."""
    _act(lambda a: a.redeliver(delivery_ids, by, reason, "cli"), kafka=False)


@requests.command("stuck")
def requests_stuck(
    older_than: Annotated[
        float | None,
        typer.Option(min=0, max=10 * 366 * 24 * 60, help="Minutes (default: config stuck_after_s)"),
    ] = None,
) -> None:
    """Requests accepted (the partner was told so), older than N minutes, not recorded."""
    if older_than is not None and not math.isfinite(older_than):  # NaN passes a range
        raise typer.BadParameter("a number of minutes", param_hint="--older-than")
    settings = _settings()
    older_than_s = older_than * 60 if older_than is not None else settings.stuck_after_s

    async def main() -> None:
        async with _actions(kafka=False) as actions:
            stuck = await actions.stuck(older_than_s)
        rows = [
            (
                s.hub_reference,
                s.partner_id,
                s.kind,
                s.reference,
                f"{s.accepted_at:%Y-%m-%d %H:%M:%S}",
                f"{s.age_s / 60:.1f} min",
            )
            for s in stuck
        ]
        headings = ("hub reference", "partner", "kind", "reference", "accepted", "age")
        _table(headings, rows, "nothing stuck")

    _run(main)


@requests.command("redrive")
def requests_redrive(
    hub_references: Annotated[list[str], typer.Argument(help="hub references (REG-…, PAY-…)")],
    by: By,
    reason: Reason,
) -> None:
    """Publish the stored event of accepted-but-unrecorded requests again (same event id)."""
    _act(lambda a: a.redrive(hub_references, by, reason, "cli"), publishing=True)


@changes.command("list")
def changes_list(limit: Limit = 100) -> None:
    """Pending changes, oldest first."""

    async def main() -> None:
        async with _actions(kafka=False) as actions:
            pending = await actions.review.pending(limit)
        rows = [
            (
                str(r.id),
                r.kpj,
                r.field,
                Text(r.current_value),
                Text(r.proposed_value),
                Text(f"{r.channel}/{r.partner_id} {r.partner_ref}"),
                f"{r.created_at:%Y-%m-%d %H:%M}",
            )
            for r in pending
        ]
        _table(
            ("id", "KPJ", "field", "current", "proposed", "from", "received"),
            rows,
            "no pending changes",
        )

    _run(main)


def _decide(change_id: int, decision: Literal["approved", "rejected"], by: str, why: str) -> None:
    async def main() -> Outcome:
        async with _actions(kafka=False) as actions:
            return await actions.decide_change(change_id, decision, by, why, "cli")

    _report([_run(main)])


@changes.command()
def approve(change_id: ChangeId, by: By, reason: Reason = "approved on review") -> None:
    """Apply a change to the member, recording old and new value in member history."""
    _decide(change_id, "approved", by, reason)


@changes.command()
def reject(change_id: ChangeId, by: By, reason: Reason = "rejected on review") -> None:
    """Keep the member as they are; the change is closed as rejected."""
    _decide(change_id, "rejected", by, reason)


def lag() -> None:
    """Per-partition lag of the core consumer group: end offset minus committed offset."""
    settings = _settings()
    bootstrap = _bootstrap(settings)

    async def main() -> None:
        probe = BrokerProbe(settings, bootstrap)
        try:
            rows = await probe.lag()
        finally:
            await probe.close()
        table = Table("topic", "partition", "end offset", "committed", "lag")
        for r in rows:
            table.add_row(
                r.topic,
                str(r.partition),
                str(r.end_offset),
                "-" if r.committed is None else str(r.committed),
                str(r.lag),
            )
        console.print(table)
        console.print(f"total lag: {sum(r.lag for r in rows)}")

    _run(main)


@ops.command("hash-password")
def hash_password_command() -> None:
    """Prompt for an operator's password and print the hash for [operators.<name>]."""
    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        console.print("[red]the passwords differ[/]")
        raise typer.Exit(1)
    print(hash_password(password))
