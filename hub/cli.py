"""The ``hub`` command: run, api, consume, broker, migrate."""

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.bootstrap import serve
from hub.review_cli import changes
from hub.settings import Settings, load_settings

app = typer.Typer(
    help="BPU Channel Hub: partner registrations and payments into the membership store."
)
console = Console()
app.add_typer(changes, name="changes")

Host = Annotated[str | None, typer.Option(help="Interface to listen on (default: config api_host)")]
Port = Annotated[int | None, typer.Option(help="Port to listen on (default: config api_port)")]


def _settings() -> Settings:
    logging.basicConfig(
        level=os.environ.get("HUB_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    return load_settings()


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
    console.print("Ctrl-C stops the hub.")


@app.command()
def run(host: Host = None, port: Port = None) -> None:
    """API and core consumer together; spawns Tansu unless HUB_KAFKA_BOOTSTRAP_SERVERS is set."""
    settings = _settings()
    _run(
        serve(
            settings,
            api=True,
            consume=True,
            host=host or settings.api_host,
            port=port if port is not None else settings.api_port,
            on_ready=_example,
        )
    )


@app.command()
def api(host: Host = None, port: Port = None) -> None:
    """The partner API only (scale it out); needs HUB_KAFKA_BOOTSTRAP_SERVERS."""
    settings = _settings()
    _require_cluster(settings)
    _run(
        serve(
            settings,
            api=True,
            consume=False,
            host=host or settings.api_host,
            port=port if port is not None else settings.api_port,
        )
    )


@app.command()
def consume() -> None:
    """The core consumer only; needs HUB_KAFKA_BOOTSTRAP_SERVERS."""
    settings = _settings()
    _require_cluster(settings)
    _run(serve(settings, api=False, consume=True, host="", port=0))


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port for the embedded Tansu broker")] = 9092,
    host: Annotated[str, typer.Option(help="Interface (loopback by default)")] = "127.0.0.1",
) -> None:
    """Run the embedded Tansu broker in the foreground (memory-only storage)."""
    from hub.broker import tansu_command

    command = tansu_command(host, port)
    console.print(f"Tansu on {host}:{port}; set HUB_KAFKA_BOOTSTRAP_SERVERS={host}:{port}")
    os.execv(command[0], command)  # noqa: S606


@app.command()
def migrate() -> None:
    """Bring the membership store to the latest schema (Alembic)."""
    from hub.store.migrations import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.resolved_database_url)
    console.print(f"migrated {settings.resolved_database_url.split('@')[-1]}")


def _require_cluster(settings: Settings) -> None:
    if settings.embedded_broker:
        console.print(
            "[red]set HUB_KAFKA_BOOTSTRAP_SERVERS (or use `hub run` for the embedded broker)[/]"
        )
        raise typer.Exit(2)
