"""OpenAPI a partner can code from: each channel operation with its page's examples and refusals.

FastAPI documents what the routes declare. Channel routes read their bodies raw (the
signature is over the bytes), so on their own they say little. This adds, per channel
operation:

- the request examples of the channel's page (docs/channels/<slug>.md), verbatim;
- the response examples of that page, under their HTTP status;
- the refusals every operation can give, in the partner's own shape, produced by the
  adapter's own ``error_response`` (bad or missing field, bad signature, try again),
  so a partner sees its codes even where the page shows no refusal for that operation.

And it names the hub API's HMAC scheme in ``components.securitySchemes``.
"""

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request

from hub.api.app import SECURITY_SCHEMES
from hub.channels.base import ChannelAdapter, HttpChannelAdapter
from hub.channels.doc_examples import HttpExample, http_examples
from hub.errors import BrokerUnavailable, FieldProblem, HubError, InvalidRequest, Unauthenticated

HUB_API_SECURITY: dict[str, dict[str, Any]] = {
    "partnerId": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Partner-Id",
        "description": "Your partner id at the hub.",
    },
    "timestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Timestamp",
        "description": (
            "Unix seconds when you signed; refused when more than 300 s old or more than "
            "30 s ahead of the hub's clock."
        ),
    },
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": (
            "HMAC scheme, lowercase hex HMAC-SHA256 keyed with your partner secret. Version 2 "
            "(X-Signature-Version: 2) signs the whole request: see SignatureV2. Version 1 "
            "(no X-Signature-Version) signs X-Timestamp + '.' + the raw request body (empty "
            "for a GET): see SignatureV1. Sent with X-Partner-Id and X-Timestamp on every "
            "request."
        ),
    },
    **SECURITY_SCHEMES,
}
_HUB_API_REQUIREMENT: list[dict[str, list[str]]] = [
    {name: [] for name in ("partnerId", "timestamp", "signature")}
]
"""All three headers together; SignatureV2 / SignatureV1 describe what X-Signature holds."""

_GENERIC_REFUSALS: tuple[tuple[str, HubError], ...] = (
    (
        "refusal: a mandatory field is missing",
        InvalidRequest(
            "a mandatory field is missing", [FieldProblem("field", "missing", "missing")]
        ),
    ),
    ("refusal: bad signature", Unauthenticated("signature does not match")),
    ("refusal: not made durable in time, send it again", BrokerUnavailable("try again", 5)),
)


def documented_openapi(
    app: FastAPI, channels: Sequence[ChannelAdapter[Any]], docs: Path
) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` for the partner app: built once, on first request."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _secure_hub_api(schema)
            for channel in channels:
                if isinstance(channel, HttpChannelAdapter):
                    _document_channel(schema, channel, docs / f"{channel.slug}.md")
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _secure_hub_api(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(HUB_API_SECURITY)
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                operation["security"] = _HUB_API_REQUIREMENT


def _document_channel(schema: dict[str, Any], channel: HttpChannelAdapter[Any], page: Path) -> None:
    examples = http_examples(page.read_text()) if page.is_file() else []
    router = channel.router()
    if router is None:
        return
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            operation = schema["paths"].get(route.path, {}).get(method.lower())
            if operation is None:
                continue
            mine = [
                e
                for e in examples
                if e.method == method and route.path_regex.match(e.path.partition("?")[0])
            ]
            _add_request_examples(operation, mine)
            responses = operation.setdefault("responses", {})
            for example in mine:
                _add_response(responses, str(example.status), example.title, example.response_body)
            for title, error in _GENERIC_REFUSALS:
                status, body = _refusal(channel, route.path, method, error)
                _add_response(responses, status, title, body)


def _add_request_examples(operation: dict[str, Any], examples: list[HttpExample]) -> None:
    with_body = [e for e in examples if e.body]
    if not with_body:
        return
    body = operation.setdefault("requestBody", {"required": True, "content": {}})
    for example in with_body:
        media = example.headers.get("Content-Type", "application/json").split(";")[0].strip()
        content = body.setdefault("content", {}).setdefault(media, {})
        value: Any = example.body.decode()
        if media == "application/json":
            value = json.loads(value)
        content.setdefault("examples", {})[_key(content["examples"], example.title)] = {
            "summary": example.title,
            "value": value,
        }


def _add_response(responses: dict[str, Any], status: str, title: str, body: Any) -> None:
    response = responses.setdefault(status, {"description": title})
    content = response.setdefault("content", {}).setdefault("application/json", {})
    examples = content.setdefault("examples", {})
    examples[_key(examples, title)] = {"summary": title, "value": body}


def _refusal(
    channel: HttpChannelAdapter[Any], path: str, method: str, error: HubError
) -> tuple[str, Any]:
    """What the adapter answers ``error`` with on this route, exactly as a partner gets it."""
    request = Request(
        {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    )
    response = channel.answer(request, error)
    return str(response.status_code), json.loads(bytes(response.body))


def _key(existing: dict[str, Any], title: str) -> str:
    key, n = title, 2
    while key in existing:
        key, n = f"{title} ({n})", n + 1
    return key
