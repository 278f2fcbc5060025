"""``hub simulate``: wires simulated partners from config and prints what happened."""

import asyncio
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from hub.bootstrap import schedule_from
from hub.settings import REPO_ROOT, Settings, load_settings
from hub.simulator.partners import (
    INCOME,
    PROGRAMMES,
    AlfamartPartner,
    BankPartner,
    Bni46Partner,
    BrilinkPartner,
    Credentials,
    HubApiPartner,
    IndomaretPartner,
    JsonPartner,
    PerisaiAgent,
    PosPartner,
    SimulatedPartner,
    load_private_key,
)
from hub.simulator.traffic import FAULTS, NotLoopback, Simulator, require_loopback

console = Console()
CHANNELS = ("hub-api", "pos", "brilink", "bni46", "indomaret", "alfamart", "bank", "perisai")
DEV_BANK_KEY = REPO_ROOT / "tests" / "channels" / "bank" / "keys" / "dev-bank-private.pem"


def _credentials(settings: Settings, channel: str) -> Credentials | None:
    for partner_id, p in settings.partners.items():
        if p.channel == channel:
            return Credentials(partner_id, p.secret.get_secret_value(), p.options)
    return None


def _agent(issued: str | None) -> Credentials | None:
    """An Agen Perisai agent's credential, ``AGENT_ID:KEY`` as ``hub agents add`` printed it."""
    if not issued or ":" not in issued:
        return None
    agent_id, key = issued.split(":", 1)
    return Credentials(agent_id.strip(), key.strip(), {})


def _partners(
    settings: Settings,
    http: httpx.AsyncClient,
    channels: list[str],
    bank_key: Path,
    bni46_port: int | None,
    perisai_agent: str | None = None,
) -> list[SimulatedPartner]:
    made: list[SimulatedPartner] = []
    for channel in channels:
        if channel == "perisai":
            # An agent signs with its own key, issued into the store by an operator.
            agent = _agent(perisai_agent)
            if agent is None:
                console.print(
                    "[yellow]perisai: no agent (--perisai-agent AGENT_ID:KEY, from "
                    "`hub agents add`): skipped[/]"
                )
            else:
                made.append(PerisaiAgent(http, agent))
            continue
        who = _credentials(settings, channel)
        if who is None:
            console.print(f"[yellow]no partner of channel {channel} in this config: skipped[/]")
            continue
        if channel == "bank":
            if not bank_key.exists():
                console.print(f"[yellow]bank: no private key at {bank_key}: skipped[/]")
                continue
            made.append(BankPartner(http, who, load_private_key(bank_key)))
        elif channel == "bni46":
            port = bni46_port or int(settings.channels.get("bni46", {}).get("port", 0)) or None
            if port is None:
                console.print("[yellow]bni46: ISO 8583 port unknown (--bni46-port): JSON only[/]")
            made.append(Bni46Partner(http, who, port))
        else:
            kinds: dict[str, type[JsonPartner]] = {
                "hub-api": HubApiPartner,
                "pos": PosPartner,
                "brilink": BrilinkPartner,
                "indomaret": IndomaretPartner,
                "alfamart": AlfamartPartner,
            }
            made.append(kinds[channel](http, who))
    return made


def simulate(
    rate: Annotated[float, typer.Option(help="Requests per second, all channels together")] = 5,
    duration: Annotated[float, typer.Option(help="Seconds to run")] = 60,
    channels: Annotated[
        str, typer.Option(help=f"Comma-separated, of: {', '.join(CHANNELS)}")
    ] = ",".join(CHANNELS),
    faults: Annotated[
        str, typer.Option(help=f"Comma-separated, of: {', '.join(FAULTS)}; 'none' for none")
    ] = ",".join(FAULTS),
    url: Annotated[str, typer.Option(help="The hub (loopback only)")] = "http://127.0.0.1:8000",
    bni46_port: Annotated[
        int | None, typer.Option(help="The hub's ISO 8583 port (logged at start)")
    ] = None,
    bank_key: Annotated[
        Path, typer.Option(help="The simulated bank's RSA private key (PEM)")
    ] = DEV_BANK_KEY,
    seed: Annotated[int | None, typer.Option(help="Repeat a run's choices")] = None,
    perisai_agent: Annotated[
        str | None,
        typer.Option(help="An Agen Perisai agent, AGENT_ID:KEY as `hub agents add` printed it"),
    ] = None,
) -> None:
    """Drive realistic partner traffic through every channel, each in its own protocol.

    Registrations, inquiries then payments, retries, reversals and a share of bad requests,
    as the partners of the loaded config (dev: demo, pos-demo, bri-demo...). Only ever
    sends to this machine.
    """
    settings = load_settings()
    try:
        require_loopback(url)
    except NotLoopback as exc:
        console.print(f"[red]refused: {exc}; the simulator only targets loopback[/]")
        raise typer.Exit(2) from None
    chosen = [c.strip() for c in channels.split(",") if c.strip()]
    unknown = set(chosen) - set(CHANNELS)
    wanted_faults = [] if faults.strip() == "none" else [f.strip() for f in faults.split(",")]
    if unknown or set(wanted_faults) - set(FAULTS) or rate <= 0 or duration <= 0:
        console.print("[red]unknown channel or fault, or a rate or duration not above 0[/]")
        raise typer.Exit(2)
    monthly = schedule_from(settings).amount_due(INCOME, tuple(PROGRAMMES), 1)

    async def main() -> Simulator:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            partners = _partners(settings, http, chosen, bank_key, bni46_port, perisai_agent)
            simulator = Simulator(partners, monthly, wanted_faults, seed)
            await simulator.run(rate, duration)
            return simulator

    simulator = asyncio.run(main())
    table = Table("channel", "sent", "succeeded", "refused (meant)", "unexpected", "codes")
    for channel, t in sorted(simulator.tally.channels.items()):
        codes = ", ".join(f"{c}×{n}" for c, n in t.codes.most_common(6))
        table.add_row(
            channel,
            str(t.sent),
            str(t.succeeded),
            str(t.refused_as_expected),
            str(t.unexpected),
            codes,
        )
    console.print(table)
    for error, n in simulator.errors.most_common(10):
        console.print(f"[red]{n}× {error}[/]")
