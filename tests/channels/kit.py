"""What every channel's tests share: a hub over in-memory fakes, drivers, samples, doc examples.

A *world* is the partner-facing app (hub API + enabled channels) over the unit
fakes, with a fixed clock and two recorded members, so that documented examples
and sample payloads give exactly the same answers every time.

Each channel has a package ``tests/channels/<slug>/`` with:

- ``driver.py`` defining ``DRIVER``: sends a wire payload the way the partner does
  (signing it, framing it) and reads the partner's response code back;
- ``samples/NN_<what>.json``: ``{"operation", "wire", "expect_code"}``, replayed in
  order against one fresh world by ``test_every_channel.py``;
- its own behaviour tests, including the replay of ``docs/channels/<slug>.md``.
"""

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from hub.agents.registry import AgentDirectory
from hub.bootstrap import partner_app, schedule_from
from hub.channels.base import ChannelAdapter
from hub.channels.doc_examples import HttpExample
from hub.channels.doc_examples import http_examples as parse_http_examples
from hub.intake.harvest import InquiryWatch
from hub.intake.ports import MemberTerms, NonceRegistry, RequestLedger
from hub.intake.service import IntakeService
from hub.limits.buckets import Limiter
from hub.membership.kpj import kpj_for
from hub.membership.payment_code import PaymentCodes
from hub.settings import Settings, load_settings
from tests.unit.fakes import (
    AGENT_KETUT,
    AGENT_MADE,
    JAKARTA_MAN_NIK,
    SARI,
    FakePublisher,
    InMemoryAgentStore,
    InMemoryNonces,
    InMemoryRequestLedger,
)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "channels"

WIB = ZoneInfo("Asia/Jakarta")
"""Western Indonesia Time, the zone the store hosts (and most partners) write."""

WORLD_NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
"""The worlds' fixed clock: 10 March 2026, 09:00 WIB (unix 1773108000)."""

BUDI = MemberTerms(
    nik=JAKARTA_MAN_NIK,
    full_name="BUDI SANTOSO",
    programmes=("JKK", "JKM", "JHT"),
    declared_income=2_000_000,
    paid_through=None,
    kpj=kpj_for(2),
    registered_month=date(2025, 6, 1),
)
"""Recorded, never paid (inactive): owes Rp66,800 a month (JKK 20,000, JKM 6,800, JHT 40,000)."""

WAYAN = MemberTerms(
    nik="5103011505800003",
    full_name="I WAYAN SUDIARTA",
    programmes=("JKK", "JKM"),
    declared_income=1_000_000,
    paid_through=date(2026, 1, 1),
    kpj="21012345671",
    registered_month=date(2023, 4, 1),
)
"""From the agency's core (KPJ without a Luhn digit), paid through January 2026: on
10 March he owes February (arrears) and March, Rp33,600."""

CODES = PaymentCodes("8866")
SARI_PAYMENT_CODE = CODES.for_kpj(SARI.kpj or "")
BUDI_PAYMENT_CODE = CODES.for_kpj(BUDI.kpj or "")
WAYAN_PAYMENT_CODE = CODES.for_kpj(WAYAN.kpj or "")
UNKNOWN_NIK = "3201014101900003"
"""A well-formed NIK (a woman born 1990-01-01 in Jawa Barat) of no member."""


@dataclass
class World:
    """The partner-facing app over fakes; ``client`` talks to it in-process over ASGI."""

    settings: Settings
    ledger: Any  # InMemoryRequestLedger, or the SQL ledger over a real store
    publisher: FakePublisher
    nonces: InMemoryNonces
    intake: IntakeService
    channels: dict[str, ChannelAdapter[Any]]
    client: httpx.AsyncClient
    clock: Callable[[], datetime]
    extra: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def world(
    now: datetime = WORLD_NOW,
    members: tuple[MemberTerms, ...] = (SARI, BUDI, WAYAN),
    ledger: RequestLedger | None = None,
    settings: Settings | None = None,
    inquiries: InquiryWatch | None = None,
    limiter: Limiter | None = None,
    clock: Callable[[], datetime] | None = None,
    nonces: NonceRegistry | None = None,
) -> AsyncIterator[World]:
    """A fresh world; channels that run servers (ISO 8583) are started and stopped.

    ``ledger`` replaces the in-memory one (e.g. the SQL ledger over a real store);
    ``limiter`` the rate-limit buckets of this process (e.g. PostgreSQL's shared ones);
    ``clock`` replaces the fixed ``now`` (a clock a test can move); ``nonces`` lets
    two worlds share one nonce registry.
    """
    settings = settings or load_settings()

    def fixed() -> datetime:
        return now

    clock = clock or fixed
    ledger = ledger or InMemoryRequestLedger({m.nik: m for m in members})
    publisher = FakePublisher()
    nonces = nonces or InMemoryNonces()
    codes = PaymentCodes(settings.payment_code_prefix)
    intake = IntakeService(
        ledger, publisher, schedule_from(settings), codes, clock, inquiries=inquiries
    )
    # Perisai's agents (docs/channels/perisai.md): Ketut and Made, under perisai-bali.
    agent_store = InMemoryAgentStore(AGENT_KETUT, AGENT_MADE)
    agents = AgentDirectory(agent_store)
    await agents.refresh()
    app, channels = partner_app(settings, intake, nonces, clock, limiter=limiter, agents=agents)
    for channel in channels:
        await channel.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as client:
            yield World(
                settings,
                ledger,
                publisher,
                nonces,
                intake,
                {c.slug: c for c in channels},
                client,
                clock,
                {"app": app, "agents": agent_store},
            )
    finally:
        for channel in channels:
            await channel.stop()


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """A partner-protocol answer: its response code, HTTP status (if HTTP) and decoded body."""

    code: str
    http_status: int | None
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    """The HTTP answer's headers (none for a channel that is not HTTP)."""


class ChannelDriver(Protocol):
    """Talks to one channel as its partner does."""

    slug: str
    operations: tuple[str, ...]
    """What ``send`` can do on this channel, e.g. registration, inquiry, payment, reversal."""
    success_codes: frozenset[str]
    error_codes: frozenset[str]
    """Every code the partner's protocol uses for a refusal it understands."""
    system_error_codes: frozenset[str]
    """The partner's "system error" codes: never the answer to bad input."""
    optional_fields: Mapping[str, frozenset[str]]
    """Per operation, the fields its page marks optional (and harness-only keys)."""
    ignores_unknown_fields: frozenset[str]
    """Operations whose page says unknown fields are ignored (SNAP) rather than refused."""

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        """Sign/frame ``wire`` (the partner's own request fields) and send it as the partner."""
        ...


@dataclass(frozen=True, slots=True)
class Sample:
    path: Path
    operation: str
    wire: Any
    expect_code: str


def samples(slug: str) -> list[Sample]:
    """The channel's sample payloads, in file-name order."""
    found = []
    for path in sorted((REPO / "tests" / "channels" / slug / "samples").glob("*.json")):
        data = json.loads(path.read_text())
        found.append(Sample(path, data["operation"], data["wire"], data["expect_code"]))
    return found


def http_examples(slug: str) -> list[HttpExample]:
    """The documented HTTP exchanges of docs/channels/<slug>.md (``hub.channels.doc_examples``)."""
    return parse_http_examples((DOCS / f"{slug}.md").read_text())


async def replay(world: World, example: HttpExample) -> httpx.Response:
    """Send a documented request verbatim."""
    return await world.client.request(
        example.method, example.path, headers=example.headers, content=example.body
    )


def answer_of(response: httpx.Response, code_field: str) -> WireAnswer:
    """A JSON channel's answer: its code is the body's ``code_field`` ("" when there is none)."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    code = body.get(code_field, "") if isinstance(body, dict) else ""
    return WireAnswer(str(code), response.status_code, body, response.headers)


class Signer(Protocol):
    """The headers a partner sends with ``body`` on ``POST path`` at ``at``."""

    def __call__(self, path: str, body: bytes, at: datetime, **signing: str) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class SignedJsonDriver:
    """A channel whose partner POSTs signed JSON and reads a code field back.

    The channel supplies its routes, its signer and its codes; sending is the same.
    """

    slug: str
    paths: Mapping[str, str]
    """Route per operation; ``operations`` are its keys, in order."""
    sign: Signer
    code_field: str
    success_codes: frozenset[str]
    error_codes: frozenset[str]
    system_error_codes: frozenset[str]
    optional_fields: Mapping[str, frozenset[str]]
    ignores_unknown_fields: frozenset[str] = frozenset()
    operations: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "operations", tuple(self.paths))

    async def post(
        self, client: httpx.AsyncClient, operation: str, wire: Any, at: datetime, **signing: str
    ) -> WireAnswer:
        """Send one message signed at ``at``; ``signing`` overrides the partner id or secret."""
        path = self.paths[operation]
        body = json.dumps(wire).encode()
        response = await client.post(
            path, content=body, headers=self.sign(path, body, at, **signing)
        )
        return answer_of(response, self.code_field)

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        return await self.post(world.client, operation, wire, world.clock())


def store_host_paths(slug: str) -> dict[str, str]:
    """A retail chain's routes: its six calls under ``/<slug>/v1`` (docs/channels/<slug>.md)."""
    calls = ("registration", "inquiry", "payment", "advice", "reversal", "status")
    return {call: f"/{slug}/v1/{call}" for call in calls}


def assert_answered_as_documented(example: HttpExample, response: httpx.Response) -> None:
    """``response`` is the one the page shows: status, body and every header it names."""
    assert response.status_code == example.status, (example.title, response.text)
    assert response.json() == example.response_body, example.title
    for name, value in example.response_headers.items():
        assert response.headers[name] == value, (example.title, name)


async def replay_page(slug: str, w: World | None = None) -> list[HttpExample]:
    """Replay every documented exchange of ``slug``'s page in order, in one world, and check
    each answer is exactly the one shown; the examples replayed are returned."""
    examples = http_examples(slug)
    async with AsyncExitStack() as stack:
        w = w or await stack.enter_async_context(world())
        for example in examples:
            assert_answered_as_documented(example, await replay(w, example))
    return examples
