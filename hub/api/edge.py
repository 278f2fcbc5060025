"""The edge every partner request passes before any of its body is read.

For each partner route (the hub's ``/v1`` API and every channel's) the edge, in order:

1. checks the authentication headers alone (a known partner of *that* channel, a
   well-formed signature header, a fresh timestamp): a request that fails never
   has its body read;
2. refuses a declared ``Content-Length`` above the route's limit (``413``);
3. takes a token from the partner's bucket for the operation (``429`` +
   ``Retry-After`` when it is empty);
4. reads the body, cutting it off at the route's limit (``413``) or when it is not
   in within the read timeout (``408``); a streaming route (an upload) gets the
   same limits applied to the stream it reads;
5. hands the request on: to the app's router, or, for a hot route, to the route itself
   (``GatedRoute.direct``), which the edge has already matched.

Every refusal is the channel's own answer (its fields and codes, via the
channel's ``error_response``) with the HTTP status above, and a refusal that
leaves body bytes unread closes the connection.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import HubError, PayloadTooLarge, RateLimited, SlowRequest
from hub.intake.model import Partner
from hub.limits.buckets import Limiter
from hub.limits.partners import REFUSED, PartnerLimits, RefusalLog
from hub.settings import RateLimit

log = logging.getLogger("hub.edge")


@dataclass(frozen=True, slots=True)
class RouteTraits:
    """What a route's owner says about it: its rate-limit class and body limits."""

    limit_class: str = "default"
    """``default``, ``inquiry`` or ``upload`` (the buckets in ``[rate_limits]``)."""
    body_max: int | None = None
    """Largest body; None means the JSON limit (``json_body_max_bytes``)."""
    streaming: bool = False
    """The route reads its body as a stream (an upload); it is not buffered here."""


class Gate(Protocol):
    """A channel's side of the edge: who the headers name, and how to say no."""

    @property
    def slug(self) -> str: ...

    def preflight(self, request: Request) -> Partner:
        """The partner the headers name, checked from the headers alone; ``Unauthenticated``."""
        ...

    def refusal(self, request: Request, error: HubError) -> Response:
        """The channel's own answer to ``error``."""
        ...

    def traits(self, path: str) -> RouteTraits: ...


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """The edge's limits, from settings."""

    json_body_max_bytes: int
    body_timeout_s: float
    upload_timeout_s: float
    rate_limit: Callable[[str, str, str], RateLimit]
    """(partner id, operation, limit class) -> its bucket."""
    other_body_max_bytes: int = 67_108_864
    """Largest body of any other route (operators' /ops routes take settlement files)."""


@dataclass(frozen=True, slots=True)
class GatedRoute:
    route: BaseRoute
    gate: Gate
    operation: str
    traits: RouteTraits
    direct: ASGIApp | None = None
    """The route's own app, called by the edge itself once the body is read (a hot
    route, ``hub.api.app.serve_lean``), instead of handing the request back to the
    app's router to find the route again."""


RouteExceptionHandlers = tuple[dict[Any, Any], dict[Any, Any]]
"""The app's exception handlers as Starlette hands them to a route: by exception class,
by status code (``scope["starlette.exception_handlers"]``)."""


class _Cut(Exception):
    """The body was cut off; ``error`` says why."""

    def __init__(self, error: HubError) -> None:
        super().__init__(error.message)
        self.error = error


_STATUS = {PayloadTooLarge: 413, RateLimited: 429, SlowRequest: 408}


class EdgeGuard:
    """ASGI middleware applying the limits above to the routes it was given."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[GatedRoute],
        limiter: Limiter,
        limits: EdgeLimits,
        route_exception_handlers: Callable[[], RouteExceptionHandlers] | None = None,
    ) -> None:
        self.app = app
        self.routes = list(routes)
        self.route_exception_handlers = route_exception_handlers
        self._handlers: RouteExceptionHandlers | None = None
        self.limiter = limiter
        self.limits = limits
        self.refusals = RefusalLog()
        self.partner_limits = PartnerLimits(limiter, limits.rate_limit, self.refusals)

    def _match(self, scope: Scope) -> GatedRoute | None:
        for gated in self.routes:
            match, child_scope = gated.route.matches(scope)
            if match is Match.FULL:
                if gated.direct is not None:
                    scope.update(child_scope)  # as the router would (endpoint, path params)
                return gated
        return None

    async def _direct(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """The route's app, with the exception handlers the app's own middleware would
        have handed it: what it raises is answered as on any other route (what no
        handler takes goes up to the server-error handler, as before)."""
        if self._handlers is None:
            if self.route_exception_handlers is None:
                raise LookupError("a direct route needs the app's exception handlers")
            self._handlers = self.route_exception_handlers()
        scope["starlette.exception_handlers"] = self._handlers
        await app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gated = self._match(scope)
        if gated is None:
            # Not a partner route (operators' routes, health, docs, an unknown path): nothing of
            # it is read here, but its body is bounded in size and time all the same.
            limit = self.limits.other_body_max_bytes
            if _declared_length(scope) > limit:
                await _plain_413(scope, receive, send)
                return
            await self.app(scope, _bounded(receive, limit, self.limits.upload_timeout_s), send)
            return
        await self._guarded(gated, scope, receive, send)

    async def _guarded(self, gated: GatedRoute, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        slug = gated.gate.slug
        limit = gated.traits.body_max or self.limits.json_body_max_bytes
        try:
            partner = gated.gate.preflight(request)
        except HubError as exc:
            REFUSED.labels(slug, "unauthenticated").inc()
            await self._refuse(gated, request, exc, scope, receive, send)
            return
        if _declared_length(scope) > limit:
            REFUSED.labels(slug, "too_large").inc()
            self.refusals.note(slug, partner.partner_id, "too_large", gated.operation)
            await self._refuse(gated, request, PayloadTooLarge(limit), scope, receive, send)
            return
        try:
            await self.partner_limits.take(
                slug, partner.partner_id, gated.operation, gated.traits.limit_class
            )
        except RateLimited as refusal:
            await self._refuse(gated, request, refusal, scope, receive, send)
            return
        timeout = self.limits.upload_timeout_s if gated.traits.streaming else None
        timeout = timeout or self.limits.body_timeout_s
        if gated.traits.streaming:
            await self._streamed(gated, scope, receive, send, limit, timeout)
            return
        try:
            body = await _read_body(receive, limit, timeout)
        except _Cut as cut:
            reason = "too_large" if isinstance(cut.error, PayloadTooLarge) else "slow_body"
            REFUSED.labels(slug, reason).inc()
            self.refusals.note(slug, partner.partner_id, reason, gated.operation)
            await self._refuse(gated, request, cut.error, scope, receive, send, close=True)
            return
        if body is None:
            return  # the client went away
        if gated.direct is not None:
            await self._direct(gated.direct, scope, _replay(body, receive), send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _streamed(
        self,
        gated: GatedRoute,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        timeout_s: float,
    ) -> None:
        """The route reads the stream itself; a cut makes its answer close the connection."""
        cut: list[HubError] = []
        deadline = time.monotonic() + timeout_s
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            if cut:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                cut.append(SlowRequest(f"the body was not sent within {timeout_s:g} s", 5))
                raise cut[0] from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    cut.append(PayloadTooLarge(limit))
                    raise cut[0]
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and cut:
                REFUSED.labels(gated.gate.slug, _reason(cut[0])).inc()
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {
                    **message,
                    "status": _STATUS.get(type(cut[0]), message["status"]),
                    "headers": [*headers, (b"connection", b"close")],
                }
            await send(message)

        # The route answers the cut in its own words (``error_response``); ``closing`` sets
        # the status and closes the connection.
        try:
            await self.app(scope, bounded, closing)
        except HubError as exc:
            if not cut or exc is not cut[0]:
                raise
            await self._refuse(gated, Request(scope), exc, scope, receive, send, close=True)

    async def _refuse(
        self,
        gated: GatedRoute,
        request: Request,
        error: HubError,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        close: bool = False,
    ) -> None:
        response = gated.gate.refusal(request, error)
        status = _STATUS.get(type(error))
        if status is not None:
            response.status_code = status
        if close or _has_body(scope):
            # Body bytes are left unread: the connection cannot carry another request.
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _reason(error: HubError) -> str:
    return "too_large" if isinstance(error, PayloadTooLarge) else "slow_body"


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _has_body(scope: Scope) -> bool:
    """The request declared a body (which a refusal leaves unread)."""
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


async def _read_body(receive: Receive, limit: int, timeout_s: float) -> bytes | None:
    """The whole body, or ``_Cut`` once it passes ``limit`` or ``timeout_s``; None on disconnect."""
    chunks: list[bytes] = []
    size = 0
    try:
        # One timeout for the whole body (wait_for would start a task for every receive).
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _Cut(PayloadTooLarge(limit))
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise _Cut(SlowRequest(f"the body was not sent within {timeout_s:g} s", 5)) from None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real stream's events."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _bounded(receive: Receive, limit: int, timeout_s: float) -> Receive:
    """A stream a non-partner route may read: at most ``limit`` bytes within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return {"type": "http.disconnect"}
        seen += len(message.get("body", b""))
        if seen > limit:
            return {"type": "http.disconnect"}
        return message

    return bounded


async def _plain_413(scope: Scope, receive: Receive, send: Send) -> None:
    response = Response(
        b"body too large", status_code=413, media_type="text/plain", headers={"Connection": "close"}
    )
    await response(scope, receive, send)


def gated_routes(routes: Sequence[BaseRoute], gate: Gate) -> list[GatedRoute]:
    """Every route of ``routes`` behind ``gate``, each its own operation (``METHOD /path``)."""
    gated: list[GatedRoute] = []
    for route in routes:
        path = getattr(route, "path", None)
        methods: Any = getattr(route, "methods", None) or {"GET"}
        if path is None or not getattr(route, "include_in_schema", True):
            # A channel's catch-all for unknown operations reads no body and answers alone.
            continue
        method = sorted(m for m in methods if m != "HEAD")[0] if methods else "GET"
        gated.append(GatedRoute(route, gate, f"{method} {path}", gate.traits(path)))
    return gated
