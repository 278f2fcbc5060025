"""The ``hub`` command: run, api, consume, broker, migrate."""

import asyncio
import json
import os
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.console import Console

from hub.bootstrap import serve
from hub.cli import ops as ops_cli
from hub.cli.agents import agents
from hub.cli.members import members
from hub.cli.settlement import reconcile, settle
from hub.cli.simulate import simulate
from hub.config_check import masked, production_problems
from hub.observability.logs import configure_logging
from hub.settings import Settings, load_settings

if TYPE_CHECKING:
    import httpx


class UploadFile(Protocol):
    """A channel's batch-file client (``client.upload_file``), as ``hub upload`` calls it."""

    def __call__(
        self,
        url: str,
        agent_id: str,
        secret: str,
        path: Path,
        *,
        on_sent: Callable[[int], None] = ...,
        timeout_s: float = ...,
    ) -> "httpx.Response": ...


app = typer.Typer(
    help="BPU Channel Hub: partner registrations and payments into the membership store."
)
console = Console()
app.add_typer(settle, name="settle")
app.add_typer(reconcile, name="reconcile")
app.add_typer(members, name="members")
app.add_typer(agents, name="agents")
app.add_typer(ops_cli.changes, name="changes")
app.add_typer(ops_cli.dlq, name="dlq")
app.add_typer(ops_cli.callbacks, name="callbacks")
app.add_typer(ops_cli.requests, name="requests")
app.add_typer(ops_cli.ops, name="ops")
app.command("lag")(ops_cli.lag)
app.command("simulate")(simulate)
config = typer.Typer(help="The resolved configuration.")
app.add_typer(config, name="config")

Host = Annotated[str | None, typer.Option(help="Interface to listen on (default: config api_host)")]
Port = Annotated[int | None, typer.Option(help="Port to listen on (default: config api_port)")]


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.resolved_log_format, settings.log_level)
    return settings


_HMAC = "openssl dgst -sha256 -hmac demo-secret | sed 's/^.* //'"


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop (installed with uvicorn[standard]) when available: less CPU per request."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - e.g. on Windows
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _example(host: str, port: int, _bootstrap: str) -> None:
    url = f"http://{host}:{port}"
    body = (
        '{"reference":"\'"$ref"\'","nik":"5171044508900001","full_name":"Ni Made Ayu Lestari",'
        '"birth_date":"1990-08-05","sex":"F","phone":"0812-3456-7890",'
        '"address":"Jl. Gatot Subroto 12, Denpasar","occupation":"pedagang",'
        '"declared_income":1000000,"programmes":["JKK","JKM"]}'
    )
    console.print(
        f"[bold green]BPU Channel Hub[/] listening on [bold]{url}[/]  (OpenAPI: {url}/docs)"
    )
    console.print("Send a signed example registration as partner [bold]demo[/]:\n")
    console.print(
        f"""ref=DEMO-$(date +%s); body='{body}'; ts=$(date +%s); \\
sig=$(printf '%s.%s' "$ts" "$body" | {_HMAC}); \\
curl -s -X POST {url}/v1/registrations -H 'Content-Type: application/json' \\
  -H 'X-Partner-Id: demo' -H "X-Timestamp: $ts" -H "X-Signature: $sig" -d "$body"; echo; sleep 1; \\
ts=$(date +%s); sig=$(printf '%s.' "$ts" | {_HMAC}); \\
curl -s {url}/v1/registrations/$ref \\
  -H 'X-Partner-Id: demo' -H "X-Timestamp: $ts" -H "X-Signature: $sig"; echo
""",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"Operator console: {url}/ops/ ; live traffic: hub simulate --url {url}")
    console.print("Ctrl-C stops the hub.")


@config.command("check")
def config_check(
    as_production: Annotated[
        bool, typer.Option(help="Apply production's rules whatever HUB_ENV says")
    ] = False,
) -> None:
    """Print the resolved settings (secrets masked); exit 1 on what production refuses."""
    settings = load_settings()
    print(json.dumps(masked(settings), indent=2, sort_keys=True))
    problems = production_problems(settings)
    strict = as_production or settings.env == "production"
    if not problems:
        console.print("[green]no problems found[/]", highlight=False)
        return
    title = "problems" if strict else "would be refused in production"
    console.print(f"[bold red]{title}:[/]", highlight=False)
    for problem in problems:
        console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
    if strict:
        raise typer.Exit(1)


def _serve_api(
    settings: Settings,
    host: str | None,
    port: int | None,
    consume: bool,
    on_ready: Callable[[str, int, str], None] | None = None,
) -> None:
    """Serve the partner API at the given address or the configured one."""
    host, port = host or settings.api_host, settings.api_port if port is None else port
    _run(serve(settings, api=True, consume=consume, host=host, port=port, on_ready=on_ready))


@app.command()
def run(host: Host = None, port: Port = None) -> None:
    """API and core consumer together; spawns a broker unless HUB_KAFKA_BOOTSTRAP_SERVERS is set."""
    _serve_api(_settings(), host, port, consume=True, on_ready=_example)


@app.command()
def api(host: Host = None, port: Port = None) -> None:
    """The partner API only (scale it out); needs HUB_KAFKA_BOOTSTRAP_SERVERS."""
    settings = _settings()
    _require_cluster(settings)
    _serve_api(settings, host, port, consume=False)


@app.command()
def consume(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve /metrics, /livez and /readyz on this port (at api_host)"),
    ] = None,
) -> None:
    """The core consumer only; needs HUB_KAFKA_BOOTSTRAP_SERVERS."""
    settings = _settings()
    _require_cluster(settings)
    _run(serve(settings, api=False, consume=True, host="", port=0, metrics_port=metrics_port))


@app.command()
def broker(
    engine: Annotated[
        str, typer.Option(help="kafka (Apache Kafka, KRaft) or tansu (memory only)")
    ] = "kafka",
    port: Annotated[int, typer.Option(help="Client port (of the first node)")] = 9092,
    data: Annotated[
        Path, typer.Option(help="Apache Kafka's data folder, formatted on first start")
    ] = Path("var/kafka"),
    nodes: Annotated[int, typer.Option(help="KRaft nodes, on consecutive ports (kafka)")] = 1,
    host: Annotated[str, typer.Option(help="Interface (loopback by default)")] = "127.0.0.1",
) -> None:
    """Run a broker in the foreground until Ctrl-C: Apache Kafka on disk, or Tansu in memory."""
    from hub.broker import ApacheKafka, tansu_command
    from hub.settings import KAFKA_LIBS

    if engine == "tansu":
        command = tansu_command(host, port)
        console.print(f"Tansu on {host}:{port}; set HUB_KAFKA_BOOTSTRAP_SERVERS={host}:{port}")
        os.execv(command[0], command)  # noqa: S606
    if engine != "kafka":
        console.print(f"[red]unknown engine {engine!r}: kafka or tansu[/]")
        raise typer.Exit(2)
    cluster = ApacheKafka(data.resolve(), KAFKA_LIBS, port=port, host=host, nodes=nodes)

    async def foreground() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await cluster.start()
        console.print(
            f"Apache Kafka, {nodes} KRaft node(s), data in {data}; "
            f"set HUB_KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}"
        )
        try:
            await stop.wait()
        finally:
            await cluster.stop()

    asyncio.run(foreground())


@app.command()
def migrate() -> None:
    """Bring the membership store to the latest schema (Alembic)."""
    from hub.store.migrations import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.resolved_database_url)
    console.print(f"migrated {settings.resolved_database_url.split('@')[-1]}")


@app.command()
def upload(
    channel: Annotated[str, typer.Argument(help="The channel whose batch format FILE is in: pos")],
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The agent's CSV file of registrations"
        ),
    ],
    partner: Annotated[
        str, typer.Option(envvar="HUB_UPLOAD_PARTNER", help="Your agent id (X-Pos-Agent-Id)")
    ],
    secret: Annotated[
        str,
        typer.Option(
            envvar="HUB_UPLOAD_SECRET",
            help="Your secret; better given in the environment than on the command line",
            show_default=False,
        ),
    ],
    url: Annotated[
        str, typer.Option(envvar="HUB_UPLOAD_URL", help="The hub's base URL")
    ] = "http://127.0.0.1:8000",
    answer: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Write the hub's whole JSON answer to this file"),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the hub's answer once the file is sent")
    ] = 600.0,
) -> None:
    """Upload an agent's batch file of registrations and show which rows were accepted.

    Exit status: 0 every row accepted, 1 some rows rejected, 2 the file was refused or
    the hub could not be reached. The format: docs/channels/pos.md.
    """
    if channel != "pos":
        console.print(f"[red]only the pos channel takes batch files, not {channel!r}[/]")
        raise typer.Exit(2)
    import httpx
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from hub.channels import partner_side
    from hub.cli.progress import file_progress

    upload_file: UploadFile = partner_side(channel, "client").upload_file
    size = file.stat().st_size
    with file_progress(console) as progress:
        sending = progress.add_task(f"uploading {file.name}", total=size)
        sent_bytes = 0

        def sent(n: int) -> None:
            nonlocal sent_bytes
            sent_bytes += n
            progress.advance(sending, n)
            if sent_bytes >= size:
                # The hub checks the signature over the whole file, then submits the rows.
                progress.add_task("the hub is submitting the rows", total=None)

        try:
            response = upload_file(url, partner, secret, file, on_sent=sent, timeout_s=timeout)
        except httpx.HTTPError as exc:
            console.print(f"[red]could not upload to {escape(url)}: {escape(str(exc))}[/]")
            raise typer.Exit(2) from None
    if answer is not None:
        answer.write_bytes(response.content)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "kodeRespon" not in body:
        console.print(f"[red]HTTP {response.status_code}, not a pos answer:[/]")
        console.print(Text(response.text[:500]))
        raise typer.Exit(2)
    if body["kodeRespon"] != "00":
        console.print(
            f"[red]file refused: {escape(str(body['kodeRespon']))} {escape(str(body['pesan']))}[/]"
        )
        console.print(Text(str(body.get("keterangan", ""))))
        raise typer.Exit(2)
    console.print(
        f"{body['jumlahBaris']:,} rows: [green]{body['jumlahDiterima']:,} accepted[/], "
        f"[red]{body['jumlahDitolak']:,} rejected[/]"
    )
    rejected = body["ditolak"]
    if rejected:
        table = Table("baris", "noReferensi", "kodeRespon", "alasan")
        for row in rejected[:50]:
            table.add_row(
                *(Text(str(row[k])) for k in ("baris", "noReferensi", "kodeRespon", "alasan"))
            )
        console.print(table)
        if len(rejected) > 50:
            console.print(
                f"... and {len(rejected) - 50:,} more rows (--answer FILE keeps them all)"
            )
        raise typer.Exit(1)


def _require_cluster(settings: Settings) -> None:
    if settings.uses_embedded_broker:
        console.print(
            "[red]set HUB_KAFKA_BOOTSTRAP_SERVERS (or use `hub run` for the embedded broker)[/]"
        )
        raise typer.Exit(2)
