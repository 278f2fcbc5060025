"""The one route style of every HTTP channel: a table of operations, each a method of the adapter.

A channel lists its operations (``HttpChannelAdapter.operations``): the partner's
path, the adapter method that answers it, a summary and the wire model of its body.
The routes read their bodies raw (the signature is over the bytes), so the model is
documented for OpenAPI (``raw_body``) rather than parsed by FastAPI. Why a table of
methods rather than closures decorated inside ``router()``: the table is the
channel's list of operations in one place, handlers are ordinary methods a test or
a second path (Indomaret's ``advice``) can name, and every route is mounted the same
way, under a route class that answers any error in the partner's protocol.
"""

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from hub.errors import HubError
from hub.store.outage import as_partner_error

log = logging.getLogger("hub.channels")

Handler = Callable[..., Awaitable[Response]]
"""An adapter method taking the ``Request`` (and the path's parameters, by name)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a partner's protocol, as the channel's router mounts it."""

    path: str
    handler: Handler
    summary: str | None = None
    body: type[BaseModel] | None = None
    """The wire model of the body, documented in OpenAPI; the handler parses the raw bytes."""
    method: str = "POST"


def raw_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body a route reads raw (it must, to check the signature first)."""
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class Answering(Protocol):
    """What answers a channel route's errors: the adapter, in its partner's protocol."""

    @property
    def slug(self) -> str: ...

    def answer(self, request: Request, error: Exception) -> Response: ...


def answering_route(channel: Answering) -> type[APIRoute]:
    """A route class that catches every error of a channel route and answers it via ``channel``."""

    class ChannelRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as raised:
                    exc = as_partner_error(raised)
                    if not isinstance(exc, HubError):
                        log.exception("%s: unexpected error on %s", channel.slug, request.url.path)
                    return channel.answer(request, exc)

            return answer

    return ChannelRoute
