"""What every partner channel adapter is: a slug, typed options, routes and/or a server.

An adapter knows one partner protocol (wire format, authentication, response
codes) and translates it to and from intake's requests. It never touches Kafka
or the store: it calls ``IntakeService``, the path the hub's own API takes.

Adding a channel is one module or package ``adapters/<slug>`` defining ``ADAPTER``,
one ``[channels.<slug>]`` table in config, and its partners (``channel = "<slug>"``).
What every channel needs is in the kit beside this module: ``signatures`` (header
signature verification), ``codes`` (code table, ``Retry-After``), ``fields`` (field
names in the partner's terms), ``routes`` (the route style) and ``openapi``.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar, get_args

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.api.edge import RouteTraits
from hub.channels.codes import CodeTable, with_retry_after
from hub.channels.routes import Operation, answering_route, raw_body
from hub.channels.signatures import HeaderVerifier, SignatureScheme
from hub.errors import HubError, Unauthenticated, UnknownOperation
from hub.intake.model import Partner
from hub.intake.ports import NonceRegistry
from hub.intake.service import IntakeService
from hub.limits.partners import PartnerLimits
from hub.reconciliation.lines import SettlementReader
from hub.settings import PartnerSettings


class ChannelOptions(BaseModel):
    """Options of a channel, from its ``[channels.<slug>]`` config table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True


OptionsT = TypeVar("OptionsT", bound=ChannelOptions)


class PartnerOptions(BaseModel):
    """One partner's options for its channel (``[partners.<id>] options``).

    A channel declares its own subclass as ``partner_options_model``; the loader checks
    every partner's options against it when the hub starts, so a misspelt or malformed
    option stops the hub naming the partner instead of surfacing on its first request.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


PartnerOptionsT = TypeVar("PartnerOptionsT", bound=PartnerOptions)


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What the hub hands an adapter: intake, this channel's partners, a nonce store, a clock.

    ``partner_options`` are the partners' options as the loader validated them;
    ``limits`` takes rate-limit tokens for channels whose requests do not pass the HTTP
    edge (a TCP server of their own).
    """

    intake: IntakeService
    partners: Mapping[str, PartnerSettings]
    nonces: NonceRegistry
    clock: Callable[[], datetime]
    partner_options: Mapping[str, PartnerOptions] = field(default_factory=dict)
    limits: PartnerLimits | None = None

    def partner(self, partner_id: str | None) -> tuple[Partner, PartnerSettings] | None:
        """One of this channel's partners by id; a partner of another channel is unknown here."""
        settings = self.partners.get(partner_id or "")
        if settings is None or partner_id is None:
            return None
        partner = Partner(
            partner_id, settings.channel, settings.timezone, settings.settlement_cutoff
        )
        return partner, settings

    def signer(self, partner_id: str) -> tuple[Partner, tuple[str, ...]] | None:
        """One of this channel's partners by id, with the secrets it may sign with."""
        known = self.partner(partner_id)
        return None if known is None else (known[0], known[1].signing_secrets())


class SignedOptions(ChannelOptions):
    """Options of a channel whose partners sign with a timestamp."""

    signature_window_s: int = Field(300, gt=0)
    """How far a request's signing time may be from the hub's clock, either way, in seconds."""


class ChannelAdapter(ABC, Generic[OptionsT]):
    """Base of every channel adapter; subclasses set ``slug`` and ``title``.

    Either as class attributes or as class arguments, which read as the channel's
    name card: ``class PosAdapter(HttpChannelAdapter[PosOptions], slug="pos",
    title="Kantor Pos / Agen Pos")``. ``options_model`` is the options class the
    adapter is parameterised with, unless the adapter sets it itself.
    """

    slug: ClassVar[str]
    title: ClassVar[str]
    options_model: ClassVar[type[ChannelOptions]] = ChannelOptions
    partner_options_model: ClassVar[type[PartnerOptions]] = PartnerOptions
    """The model of each partner's ``options``; the default admits none."""
    settlement_reader: ClassVar[SettlementReader | None] = None
    """Reader of this partner's daily settlement file (``hub reconcile``), if it has one."""
    agents_sign_hub_api: ClassVar[bool] = False
    """This channel's partners are agencies whose agents (``hub agents``) each sign the
    hub's own JSON API with their own key (Agen Perisai)."""

    def __init_subclass__(
        cls, slug: str | None = None, title: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if slug is not None:
            cls.slug = slug
        if title is not None:
            cls.title = title
        if "options_model" in vars(cls):
            return
        for base in getattr(cls, "__orig_bases__", ()):
            for arg in get_args(base):
                if isinstance(arg, type) and issubclass(arg, ChannelOptions):
                    cls.options_model = arg

    def __init__(self, context: ChannelContext, options: OptionsT) -> None:
        self.context = context
        self.options = options

    @property
    def intake(self) -> IntakeService:
        return self.context.intake

    @classmethod
    def validated_partner_options(
        cls, partners: Mapping[str, PartnerSettings]
    ) -> dict[str, PartnerOptions]:
        """Each partner's options as this channel's model; a bad one names its partner."""
        validated = {}
        for partner_id, settings in partners.items():
            try:
                validated[partner_id] = cls.partner_options_model.model_validate(settings.options)
            except ValidationError as exc:
                raise ValueError(f"partners.{partner_id}.options ({cls.slug}): {exc}") from None
        return validated

    def partner_options(self, partner_id: str, model: type[PartnerOptionsT]) -> PartnerOptionsT:
        """One partner's options, typed; validated here if the loader did not (hand-built)."""
        options = self.context.partner_options.get(partner_id)
        if options is None:
            options = self.validated_partner_options(
                {partner_id: self.context.partners[partner_id]}
            )[partner_id]
        if not isinstance(options, model):
            raise TypeError(f"{self.slug}: partner options are not {model.__name__}")
        return options

    def router(self) -> APIRouter | None:
        """HTTP routes of this channel, mounted on the hub's app; None for non-HTTP channels."""
        return None

    async def start(self) -> None:
        """Start what the channel runs besides routes (e.g. a TCP server)."""

    async def stop(self) -> None:
        """Stop it; pending requests are answered first."""

    answer_code_field: ClassVar[str] = "code"
    """The field of every answer that carries the partner's response code."""
    answer_statuses: ClassVar[Mapping[int, str]] = {}
    """HTTP statuses this channel's refusals travel with, and which of its codes each carries."""

    def documented_answers(self) -> dict[int | str, dict[str, Any]]:
        """OpenAPI ``responses`` of every route: the channel's refusals and the edge's."""
        schema = {
            "type": "object",
            "required": [self.answer_code_field],
            "properties": {self.answer_code_field: {"type": "string"}},
        }
        statuses = {
            **self.answer_statuses,
            408: "the body was not sent within the read timeout (the try-later code; the "
            "connection is closed)",
            413: "the body is larger than the route's limit (the format-error code; the "
            "connection is closed, the rest of the body is never read)",
            429: "more requests of this operation than the partner's rate limit (the "
            "try-later code, with Retry-After)",
        }
        return {
            status: {
                "description": description,
                "content": {"application/json": {"schema": schema}},
            }
            for status, description in sorted(statuses.items())
        }

    def mounted_router(self) -> APIRouter | None:
        """The channel's routes as the hub mounts them; HTTP channels add a fallback."""
        return self.router()


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class HttpChannelAdapter(ChannelAdapter[OptionsT]):
    """A channel spoken over HTTP: each error is answered in the partner's own codes.

    It is also the channel's side of the edge (``hub.api.edge.Gate``): before any
    body is read, ``preflight`` names the partner from the headers alone, and
    ``refusal`` answers a refusal (413, 429, 408) in the partner's own shape.
    """

    codes: ClassVar[CodeTable[Any] | None] = None
    """The partner's code table; with its ``field`` and ``texts`` it documents the answers."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        codes = vars(cls).get("codes")
        if isinstance(codes, CodeTable) and codes.envelope is not None:
            cls.answer_code_field = codes.envelope.field
            cls.answer_statuses = codes.documented()

    @abstractmethod
    def error_response(self, request: Request, error: Exception) -> Response:
        """The partner's answer to ``error`` (a ``HubError``, or anything unexpected)."""

    def mounted_router(self) -> APIRouter | None:
        """The channel's routes, then one catching every other method and path under its prefix.

        Without it FastAPI would answer a wrong method or an unknown path with its own
        ``{"detail": ...}``, which no partner parses. A channel's prefix is the first two
        segments of its paths (``/snap/v1.0``, ``/indomaret/v1``).
        """
        router = self.router()
        if router is None:
            return None
        operations = sorted(
            (path, sorted(route.methods or ()))
            for route in router.routes
            if isinstance(route, APIRoute)
            for path in [route.path]
        )
        listed = ", ".join(f"{'/'.join(methods)} {path}" for path, methods in operations)

        async def unknown_operation(request: Request) -> Response:
            raise UnknownOperation(
                f"no operation {request.method} {request.url.path}; this channel has: {listed}"
            )

        for prefix in sorted({"/".join(path.split("/")[:3]) for path, _ in operations}):
            router.add_api_route(
                prefix + "/{rest:path}",
                unknown_operation,
                methods=_METHODS,
                include_in_schema=False,
            )
        return router

    signature_scheme: ClassVar[SignatureScheme | None] = None
    """How this channel's partners sign (``hub.channels.signatures``); None: it checks its own."""

    def operations(self) -> Sequence[Operation]:
        """The partner's operations, each mounted as a route (``hub.channels.routes``)."""
        return ()

    def router(self) -> APIRouter | None:
        router = self.http_router()
        for operation in self.operations():
            router.add_api_route(
                operation.path,
                operation.handler,
                methods=[operation.method],
                summary=operation.summary,
                openapi_extra=None if operation.body is None else raw_body(operation.body),
            )
        return router

    def http_router(self) -> APIRouter:
        """A router whose every route answers any error in this partner's protocol."""
        return APIRouter(
            route_class=answering_route(self),
            tags=[f"channel: {self.slug}"],
            responses=self.documented_answers(),
        )

    def answer(self, request: Request, error: Exception) -> Response:
        """The partner's answer to ``error``, with ``Retry-After`` when a retry can cure it."""
        return with_retry_after(self.error_response(request, error), error)

    @cached_property
    def verifier(self) -> HeaderVerifier:
        """This channel's signature scheme over its partners, window and the hub's clock."""
        if self.signature_scheme is None:
            raise TypeError(f"channel {self.slug} declares no signature_scheme")
        window_s = getattr(self.options, "signature_window_s", SignedOptions().signature_window_s)
        return HeaderVerifier(
            self.signature_scheme, self.context.signer, self.context.clock, window_s
        )

    def preflight(self, request: Request) -> Partner:
        """The partner the headers name: one of this channel's, signed in time, well-formed.

        Raise ``Unauthenticated`` (or the protocol's missing-field error) otherwise; the
        body of a refused request is never read.
        """
        return self.verifier.preflight(request.headers).partner

    async def signed(self, request: Request) -> tuple[Partner, bytes]:
        """The partner that signed this request (every check of the scheme), and its raw body."""
        body = await request.body()
        return self.verifier.verify(request.headers, request.method, request.url.path, body), body

    def refusal(self, request: Request, error: HubError) -> Response:
        return self.answer(request, error)

    def traits(self, path: str) -> RouteTraits:
        """A route's rate-limit class and body limits; inquiries have their own bucket."""
        return RouteTraits("inquiry" if "inquiry" in path.lower() else "default")

    def known_partner(self, partner_id: str | None, header: str) -> Partner:
        """This channel's partner ``partner_id``; a partner of any other channel is unknown."""
        known = self.context.partner(partner_id)
        if known is None:
            raise Unauthenticated(f"unknown {header}")
        return known[0]
