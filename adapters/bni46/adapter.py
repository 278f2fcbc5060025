"""Agen BNI 46: ISO 8583 bill payment over TCP, registrations over signed JSON.

BNI's switch keeps persistent TCP connections to the hub and sends 0800 echo/sign-on,
0200 inquiry and payment (told apart by the processing code) and 0400/0401 reversals;
the agents' registration forms arrive as signed JSON at ``/bni46/v1/registrations``.
docs/channels/bni46.md is the partner's description of all of it.
"""

from pydantic import Field

from adapters.bni46 import iso
from adapters.bni46.handlers import SwitchRequests
from adapters.bni46.json_api import AgentRegistrations
from adapters.bni46.settlement import Bni46SettlementFile
from adapters.bni46.tcp import FrameLimits, FrameServer
from hub.channels.base import ChannelContext, PartnerOptions, SignedOptions


class Bni46Options(SignedOptions):
    """``[channels.bni46]``: where the ISO 8583 server listens and how it guards itself;
    ``signature_window_s`` is the JSON registration API's replay window."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    """0 = any free port (tests); the bound port is ``Bni46Adapter.port``."""
    max_frame_bytes: int = Field(4096, ge=64, le=65535)
    """A length prefix above this closes the connection: no BNI 46 message comes near it."""
    frame_timeout_s: float = Field(10.0, gt=0)
    """How long a whole frame may take once its first byte (of the length prefix) arrived."""
    max_connections_per_client: int = Field(16, ge=1)
    """Connections one address may hold open; more are closed at once."""
    idle_timeout_s: float = Field(300.0, gt=0)
    """A connection silent this long is closed; the switch echoes (0800/301) to keep it open."""
    max_in_flight: int = Field(32, ge=1)
    """Requests of one connection answered concurrently; more wait before being read."""
    shutdown_grace_s: float = Field(10.0, gt=0)
    """On stop or hang-up, how long requests already read may take to be answered."""


class Bni46PartnerOptions(PartnerOptions):
    """``[partners.<id>] options``: the bank code BNI's switch puts in field 32 for it."""

    acquirer_id: str | None = Field(None, pattern=r"^[0-9]{1,11}$")
    """ISO 8583 field 32; without one the partner uses only the JSON registration API."""


class Bni46Adapter(AgentRegistrations[Bni46Options], slug="bni46", title="Agen BNI 46"):
    """BNI's switch over ISO 8583 (a TCP server of its own) and BNI agents over JSON.

    The agents' JSON API (its routes, code table and signature scheme) is the base
    class's; this adds the switch.
    """

    settlement_reader = Bni46SettlementFile()
    partner_options_model = Bni46PartnerOptions

    def __init__(self, context: ChannelContext, options: Bni46Options) -> None:
        super().__init__(context, options)
        # The switch names its bank in field 32; each partner's acquirer id is in its options.
        acquirers: dict[str, str] = {}
        for partner_id in context.partners:
            acquirer = self.partner_options(partner_id, Bni46PartnerOptions).acquirer_id
            if acquirer is None:
                continue
            if acquirer in acquirers:
                raise ValueError(f"bni46 partners share the acquirer id {acquirer!r}")
            acquirers[acquirer] = partner_id
        limits = FrameLimits(
            host=options.host,
            port=options.port,
            prefix_bytes=iso.FRAME_PREFIX_BYTES,
            max_frame_bytes=options.max_frame_bytes,
            frame_timeout_s=options.frame_timeout_s,
            idle_timeout_s=options.idle_timeout_s,
            max_connections_per_client=options.max_connections_per_client,
            max_in_flight=options.max_in_flight,
            shutdown_grace_s=options.shutdown_grace_s,
        )
        self.switch = SwitchRequests(self.slug, context, acquirers)
        self._server = FrameServer(limits, self.switch, "BNI 46 ISO 8583")

    @property
    def port(self) -> int:
        """The port the ISO 8583 server is bound to (``options.port``, or the one picked)."""
        return self._server.port

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        """Stop listening, stop reading, answer what was already read, then hang up."""
        await self._server.stop()


ADAPTER = Bni46Adapter
