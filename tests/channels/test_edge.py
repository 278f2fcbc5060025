"""The edge on every channel: who may use it, bodies bounded before they are read, rate limits.

Each refusal must come in the channel's own shape and code, with the HTTP status
of the refusal (401/413/429/408), and a refused body must not have been read.
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.settings import load_settings
from tests.channels.bank import driver as bank
from tests.channels.kit import WORLD_NOW, world
from tests.channels.signers import ROUTES, signed_as

SETTINGS = load_settings()
CHANNELS = sorted(ROUTES)
PARTNER_OF = {
    "hub-api": "demo",
    "pos": "pos-jakarta",
    "brilink": "bri",
    "bni46": "bni",
    "indomaret": "indomaret",
    "alfamart": "alfamart",
    "bank": "mandiri",
}
"""One partner of each channel in config/test.toml."""

UNAUTHENTICATED = {
    "hub-api": (401, "unauthenticated"),
    "pos": (401, "63"),
    "brilink": (401, "63"),
    "bni46": (401, "63"),
    "indomaret": (401, "63"),
    "alfamart": (401, "0301"),
    "bank": (401, "4019000"),
}
TOO_LARGE = {
    "hub-api": "payload_too_large",
    "pos": "30",
    "brilink": "30",
    "bni46": "30",
    "indomaret": "30",
    "alfamart": "0202",
    "bank": "4139000",
}
TRY_LATER = {
    "hub-api": "rate_limited",
    "pos": "91",
    "brilink": "91",
    "bni46": "91",
    "indomaret": "91",
    "alfamart": "0901",
    "bank": "4299000",
}
SLOW = {**TRY_LATER, "hub-api": "request_timeout", "bank": "5049000"}


def code_of(slug: str, body: Any) -> str:
    key = {
        "pos": "kodeRespon",
        "brilink": "responseCode",
        "bni46": "response_code",
        "indomaret": "RC",
        "alfamart": "response_code",
        "bank": "responseCode",
    }.get(slug)
    return str(body["error"]["code"] if key is None else body[key])


@dataclass
class Exchange:
    status: int
    headers: dict[str, str]
    body: Any
    reads: int
    """How many times the app asked for body bytes."""


@dataclass
class Body:
    """A request body as a client sends it: chunks, optionally with a pause before each."""

    chunks: list[bytes] = field(default_factory=list)
    complete: bool = True
    """False: the client stops sending after the chunks, without ending the body."""


async def call(app: Any, path: str, headers: dict[str, str], body: Body) -> Exchange:
    """One request straight into the ASGI app, counting the body reads."""
    reads = 0
    queue = list(body.chunks)

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if not queue:
            await asyncio.sleep(3600)  # a client that sends nothing more
        chunk = queue.pop(0)
        more = bool(queue) or not body.complete
        return {"type": "http.request", "body": chunk, "more_body": more}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("hub.test", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), 10)
    start = next(m for m in sent if m["type"] == "http.response.start")
    raw = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Exchange(start["status"], response_headers, json.loads(raw), reads)


def _signed(
    slug: str, body: bytes, partner: str | None = None, token: str = "no-token"
) -> dict[str, str]:
    partner = partner or PARTNER_OF[slug]
    secret = SETTINGS.partners[partner].secret.get_secret_value()
    return signed_as(slug, partner, secret, ROUTES[slug], body, WORLD_NOW, token)


async def refused_unread(slug: str, headers: dict[str, str]) -> Exchange:
    """Offer 256 KiB the edge must refuse from the headers alone: the answer, once it is
    checked that no byte of the body was read and that the connection is closed."""
    async with world() as w:
        answer = await call(w.extra["app"], ROUTES[slug], headers, Body([b"x" * 65536] * 4))
    assert answer.reads == 0
    assert answer.headers["connection"] == "close"
    return answer


FOREIGN = [(p, slug) for slug in CHANNELS for p in PARTNER_OF.values() if p != PARTNER_OF[slug]]


@pytest.mark.parametrize(("partner", "slug"), FOREIGN)
async def test_a_partner_of_one_channel_is_refused_on_every_other_channel_and_on_v1(
    partner: str, slug: str
) -> None:
    body = b'{"reference":"AUTHZ-1"}'
    async with world() as w:
        response = await w.client.post(
            ROUTES[slug], content=body, headers=_signed(slug, body, partner)
        )
        assert (response.status_code, code_of(slug, response.json())) == UNAUTHENTICATED[slug]
        assert w.ledger.requests == {}


@pytest.mark.parametrize("slug", CHANNELS)
async def test_the_channels_own_partner_gets_past_authentication_with_the_same_request(
    slug: str,
) -> None:
    """The control of the test above: the same request from the channel's partner is let in."""
    body = b'{"reference":"AUTHZ-1"}'
    async with world() as w:
        token = await bank.access_token(w) if slug == "bank" else "no-token"
        headers = _signed(slug, body, token=token)
        response = await w.client.post(ROUTES[slug], content=body, headers=headers)
        assert (response.status_code, code_of(slug, response.json())) != UNAUTHENTICATED[slug]
        assert response.status_code in (200, 400, 422), response.text


@pytest.mark.parametrize("slug", CHANNELS)
async def test_an_unknown_partner_is_refused_without_its_body_being_read(slug: str) -> None:
    body = b"{}"
    headers = signed_as(slug, "mallory", "mallory-secret", ROUTES[slug], body, WORLD_NOW)
    headers["Content-Length"] = str(200 * 1024 * 1024)
    answer = await refused_unread(slug, headers)
    assert (answer.status, code_of(slug, answer.body)) == UNAUTHENTICATED[slug]


@pytest.mark.parametrize("slug", CHANNELS)
async def test_a_declared_body_over_the_limit_gets_413_in_the_partners_shape_unread(
    slug: str,
) -> None:
    headers = {**_signed(slug, b"{}"), "Content-Length": str(100 * 1024 * 1024)}
    answer = await refused_unread(slug, headers)
    assert answer.status == 413
    assert code_of(slug, answer.body) == TOO_LARGE[slug]


@pytest.mark.parametrize("slug", CHANNELS)
async def test_a_streamed_body_is_cut_off_at_the_limit_and_the_connection_closed(
    slug: str,
) -> None:
    chunks = [b"x" * 16384] * 64  # 1 MiB, no Content-Length, 16 KiB a read
    async with world() as w:
        answer = await call(w.extra["app"], ROUTES[slug], _signed(slug, b"{}"), Body(chunks))
    assert answer.status == 413
    assert code_of(slug, answer.body) == TOO_LARGE[slug]
    assert answer.reads == 65_536 // 16_384 + 1  # stopped at the first byte over 64 KiB
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("slug", CHANNELS)
async def test_a_body_not_sent_within_the_read_timeout_is_cut_off(slug: str) -> None:
    settings = load_settings(body_timeout_s=0.3)
    async with world(settings=settings) as w:
        answer = await call(
            w.extra["app"], ROUTES[slug], _signed(slug, b"{}"), Body([b"{"], complete=False)
        )
    assert answer.status == 408
    assert code_of(slug, answer.body) == SLOW[slug]
    assert answer.headers["connection"] == "close"
    assert answer.headers["retry-after"] == "5"


@pytest.mark.parametrize("slug", CHANNELS)
async def test_a_flood_gets_429_with_retry_after_in_the_channels_try_later_code(
    slug: str,
) -> None:
    settings = load_settings(rate_limits={"default": {"per_s": 0.5, "burst": 3}})
    body = b'{"reference":"FLOOD-1"}'
    async with world(settings=settings) as w:
        statuses = []
        for _ in range(5):
            response = await w.client.post(ROUTES[slug], content=body, headers=_signed(slug, body))
            statuses.append(response.status_code)
        assert statuses[:3] != [429] * 3 and 429 not in statuses[:3]
        assert statuses[3:] == [429, 429]
        assert code_of(slug, response.json()) == TRY_LATER[slug]
        assert response.headers["retry-after"] == "2"  # one token every 2 s


async def test_a_flooding_partner_does_not_take_another_partners_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(rate_limits={"default": {"per_s": 0.5, "burst": 3}})
    body = b'{"reference":"FLOOD-1"}'
    with caplog.at_level(logging.WARNING, logger="hub.edge"):
        async with world(settings=settings) as w:
            flood = [
                await w.client.post(
                    ROUTES["hub-api"], content=body, headers=_signed("hub-api", body)
                )
                for _ in range(10)
            ]
            other = await w.client.post(
                ROUTES["hub-api"], content=body, headers=_signed("hub-api", body, "other")
            )
    assert [r.status_code for r in flood].count(429) == 7
    assert other.status_code == 422  # let in (and refused for its content)
    # The operator's log: one line a minute per partner and reason, not one per request.
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert line == (
        "hub-api: 1 request(s) of partner demo refused (rate_limited) in the last minute: "
        "POST /v1/registrations"
    )


async def test_inquiries_have_their_own_tighter_bucket_than_registrations() -> None:
    settings = load_settings(
        rate_limits={"default": {"per_s": 100, "burst": 200}, "inquiry": {"per_s": 1, "burst": 2}}
    )
    inquiry = b'{"payment_code": "886600000000017", "months": 1}'
    async with world(settings=settings) as w:
        answers = []
        for _ in range(3):
            headers = signed_as(
                "hub-api", "demo", "demo-secret", "/v1/payments/inquiry", inquiry, WORLD_NOW
            )
            answers.append(
                await w.client.post("/v1/payments/inquiry", content=inquiry, headers=headers)
            )
        registration = await w.client.post(
            ROUTES["hub-api"], content=b"{}", headers=_signed("hub-api", b"{}")
        )
    assert [a.status_code for a in answers][2] == 429
    assert registration.status_code == 422
