"""The abuse suite: the running hub under the attacks of issue 14, over real sockets.

A hub of its own (``python -m hub run`` on the session's broker and PostgreSQL)
with short timeouts and a partner ``flooder`` with a small bucket, so every
attack ends in seconds. Each test is one row of the issue's table.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from hub.broker import Broker, free_port
from tests.support.brokers import hub_env_on
from tests.support.hubproc import configured_env, running_hub

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.5
FRAME_TIMEOUT_S = 1.0
KEEP_ALIVE_S = 7
"""Not uvicorn's own 5 s, so that the test tells the setting from the default; and longer
than an httpx client keeps an idle connection (5 s), so that no other test here reuses one
the hub is closing."""
FLOODER_SECRET = "flooder-secret"
MiB = 1024 * 1024


@dataclass
class Hub:
    url: str
    host: str
    port: int
    pid: int
    iso_port: int

    def rss_kib(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"{field} not in /proc/{self.pid}/status")

    def reset_peak_rss(self) -> None:
        """Linux: writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")


@pytest.fixture(scope="module")
async def hub(
    broker: Broker, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hub]:
    iso_port = free_port()
    env = {
        **configured_env(
            bni46={"port": iso_port, "frame_timeout_s": FRAME_TIMEOUT_S},
            partners={
                "flooder": {
                    "secret": FLOODER_SECRET,
                    "rate_limits": {"default": {"per_s": 5, "burst": 10}},
                }
            },
        ),
        **hub_env_on(broker, database_url, "abuse"),
        "HUB_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "HUB_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "HUB_MAX_CONNECTIONS_PER_CLIENT": "150",
        "HUB_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
    }
    pids: list[int] = []
    log = tmp_path_factory.mktemp("abuse") / "hub.log"
    async with running_hub(env, log, pids=pids, avoid={iso_port}) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield Hub(url, parts.hostname, parts.port, pids[0], iso_port)


def v2_headers(
    method: str,
    target: str,
    body: bytes,
    partner: str = "demo",
    secret: str = "demo-secret",
    timestamp: int | None = None,
) -> dict[str, str]:
    """Version 2 written out from its definition, independent of the hub's code."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    text = "\n".join(
        [
            "BPU-HMAC-SHA256-V2",
            method,
            target,
            partner,
            stamp,
            "",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return {
        "X-Partner-Id": partner,
        "X-Timestamp": stamp,
        "X-Signature-Version": "2",
        "X-Signature": hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest(),
    }


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: hub.test",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Attack:
    status: int | None
    """The status line's code, or None if the connection closed with no answer."""
    sent_bytes: int
    seconds: float


async def send_body_attack(
    hub: Hub, head: bytes, body_bytes: int, chunk: int = 256 * 1024
) -> Attack:
    """Send ``head`` then up to ``body_bytes`` of body, reading the answer concurrently."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(hub.host, hub.port)
    answer = asyncio.create_task(reader.read(4096))
    sent = 0
    try:
        writer.write(head)
        await writer.drain()
        await asyncio.sleep(0.2)  # a refusal of the headers alone comes before any body byte
        block = b"x" * chunk
        if b"chunked" in head.lower():
            block = f"{chunk:x}\r\n".encode() + block + b"\r\n"
        while sent < body_bytes and not answer.done():
            writer.write(block)
            await asyncio.wait_for(writer.drain(), 10)
            sent += chunk
    except (ConnectionError, OSError):
        pass
    try:
        data = await asyncio.wait_for(answer, 10)
    except (ConnectionError, OSError):
        data = b""
    writer.close()
    status = int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None
    return Attack(status, sent, time.monotonic() - started)


async def test_oversized_bodies_signed_and_unsigned_keep_the_hubs_memory_within_50_mb(
    hub: Hub,
) -> None:
    idle_kib = hub.rss_kib()
    hub.reset_peak_rss()
    unsigned = request_head(
        "POST",
        "/v1/registrations",
        {"Content-Type": "application/json", "Content-Length": str(200 * MiB)},
    )
    target = "/v1/registrations"
    signed_declared = request_head(
        "POST",
        target,
        {
            **v2_headers("POST", target, b"{}"),
            "Content-Type": "application/json",
            "Content-Length": str(100 * MiB),
        },
    )
    signed_chunked = request_head(
        "POST",
        target,
        {
            **v2_headers("POST", target, b"{}"),
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    attacks = await asyncio.gather(
        *(send_body_attack(hub, unsigned, 200 * MiB) for _ in range(4)),
        send_body_attack(hub, signed_declared, 100 * MiB),
        send_body_attack(hub, signed_chunked, 100 * MiB),
    )
    peak_kib = hub.rss_kib("VmHWM")
    print(
        f"\nRSS idle {idle_kib / 1024:.0f} MiB, peak during the attack {peak_kib / 1024:.0f} MiB; "
        + "; ".join(
            f"{a.status} after {a.sent_bytes / MiB:.1f} MiB in {a.seconds:.2f} s" for a in attacks
        )
    )
    assert [a.status for a in attacks[:4]] == [401] * 4
    assert attacks[4].status == 413
    assert attacks[5].status in (413, None)  # answered, or cut while still sending
    assert all(a.sent_bytes < 20 * MiB for a in attacks), "a body was read far past the limit"
    assert all(a.seconds < 15 for a in attacks)
    assert peak_kib - idle_kib <= 50 * 1024


async def trickle(
    host: str, port: int, opening: bytes, pieces: Iterable[bytes], every_s: float
) -> float:
    """Send ``opening``, then one of ``pieces`` every ``every_s`` until the server hangs up
    (or they run out); wait up to 10 s for its close. Seconds from connecting to the close."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(opening)
    try:
        for piece in pieces:
            await asyncio.sleep(every_s)
            writer.write(piece)
            await writer.drain()
            if reader.at_eof():
                break
    except (ConnectionError, OSError):
        pass
    with contextlib.suppress(ConnectionError, OSError):
        await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return time.monotonic() - started


async def test_slow_headers_are_cut_off_and_normal_traffic_is_not_slowed(hub: Hub) -> None:
    async def slowloris() -> float:
        opening = b"POST /v1/payments HTTP/1.1\r\nHost: hub.test\r\n"
        headers = (f"X-Slow-{n}: y\r\n".encode() for n in range(40))
        return await trickle(hub.host, hub.port, opening, headers, every_s=0.25)

    slow = [asyncio.create_task(slowloris()) for _ in range(30)]
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(base_url=hub.url) as client:
        started = time.monotonic()
        for _ in range(10):
            assert (await client.get("/healthz")).status_code == 200
        normal = (time.monotonic() - started) / 10
    durations = await asyncio.gather(*slow)
    print(
        f"\nslow headers cut after {max(durations):.2f} s; "
        f"/healthz meanwhile {normal * 1000:.1f} ms"
    )
    assert all(d < HEADER_TIMEOUT_S + 4 for d in durations)  # shared CPU: slack
    assert normal < 0.25


async def test_slow_bodies_are_cut_off_with_408(hub: Hub) -> None:
    async def ten_of_a_thousand(n: int) -> tuple[int | None, float]:
        target = "/v1/registrations"
        head = request_head(
            "POST",
            target,
            {
                **v2_headers("POST", target, b"x" * 1000, partner="other", secret="other-secret"),
                "Content-Type": "application/json",
                "Content-Length": "1000",
            },
        )
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(hub.host, hub.port)
        writer.write(head + b"0123456789")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 20)
        writer.close()
        status = int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None
        return status, time.monotonic() - started

    results = await asyncio.gather(*(ten_of_a_thousand(n) for n in range(100)))
    print(
        f"\n100 slow bodies: statuses {sorted({s for s, _ in results})}, "
        f"last cut after {max(t for _, t in results):.2f} s"
    )
    assert {status for status, _ in results} == {408}
    assert all(seconds < BODY_TIMEOUT_S + 6 for _, seconds in results)  # shared CPU: slack


async def test_a_flood_gets_429_while_another_partner_is_unaffected(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as client:

        async def get(partner: str, secret: str, n: int) -> httpx.Response:
            path = f"/v1/registrations/FLOOD-{n}"
            return await client.get(path, headers=v2_headers("GET", path, b"", partner, secret))

        flood = [get("flooder", FLOODER_SECRET, n) for n in range(150)]
        calm = [get("other", "other-secret", n) for n in range(30)]
        started = time.monotonic()
        answers = await asyncio.gather(*flood, *calm)
        elapsed = time.monotonic() - started
    flooded, others = answers[:150], answers[150:]
    limited = [r for r in flooded if r.status_code == 429]
    # Past the bucket: served (404, no such registration) or cut by the edge's body timeout.
    served = [r for r in flooded if r.status_code == 404 or "request_timeout" in r.text]
    print(
        f"\nflood: {len(limited)} of 150 got 429, {len(served)} passed the bucket, "
        f"{sum(r.status_code == 408 for r in flooded)} got 408; "
        f"the other partner: {sorted({r.status_code for r in others})}"
    )
    # On a machine loaded far beyond its cores, this module's 1-second header timeout cuts
    # some requests (a plain 408) before the edge sees them: neither served nor limited.
    assert {r.status_code for r in flooded} <= {404, 429, 408}
    # The flooder's bucket: 10 at once, then 5 a second for as long as the flood lasted.
    assert len(served) <= 10 + 5 * elapsed + 2, (len(served), elapsed)
    assert len(limited) >= 50
    assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    assert all(r.json()["error"]["code"] == "rate_limited" for r in limited)
    # The other partner is authenticated and never rate-limited.
    assert 404 in {r.status_code for r in others}
    assert {r.status_code for r in others} <= {404, 408}


async def test_a_v2_signature_replayed_on_another_path_or_method_is_refused(hub: Hub) -> None:
    path = "/v1/registrations/REPLAY-1"
    captured = v2_headers("GET", path, b"")
    async with httpx.AsyncClient(base_url=hub.url) as client:
        original = await client.get(path, headers=captured)
        other_path = await client.get("/v1/registrations/REPLAY-2", headers=captured)
        other_query = await client.get(path + "?x=1", headers=captured)
        other_method = await client.post(
            "/v1/payments/inquiry", headers={**captured, "Content-Type": "application/json"}
        )
    assert original.status_code == 404  # authenticated: only the reference is unknown
    for refused in (other_path, other_query, other_method):
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "signature does not match"


async def test_no_answer_names_the_server_software(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        answers = [
            await client.get("/livez"),
            await client.get("/v1/registrations/NO-SUCH-REF"),  # unsigned: a 401
            await client.get("/no/such/route"),
        ]
    assert [a.status_code for a in answers] == [200, 401, 404]
    for answer in answers:
        assert "server" not in answer.headers


async def test_pipelined_requests_on_one_connection_are_all_answered_in_order(hub: Hub) -> None:
    """Three requests in one TCP write, the last asking to close: three whole answers, in
    the order asked, then the hub hangs up (the answers leave a turn at a time, joined)."""
    reader, writer = await asyncio.open_connection(hub.host, hub.port)
    ask = "GET {} HTTP/1.1\r\nHost: hub.test\r\n{}\r\n"
    writer.write(
        ask.format("/livez", "").encode()
        + ask.format("/no/such/route", "").encode()
        + ask.format("/livez", "Connection: close\r\n").encode()
    )
    await writer.drain()
    received = await asyncio.wait_for(reader.read(), 10)  # until the hub closes
    writer.close()
    statuses = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?im)^content-length: *(\d+)", head)[1])  # type: ignore[index]
        statuses.append(int(head.split(b" ", 2)[1]))
        assert len(rest) >= length, "an answer's body was cut short"
        received = rest[length:]
    assert statuses == [200, 404, 200]


async def _answered_status(reader: asyncio.StreamReader) -> int:
    """One whole answer read off the connection (head and body); its status."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    await reader.readexactly(int(length[1]) if length else 0)
    return int(head.split(b" ", 2)[1])


async def test_an_idle_connection_is_closed_after_keep_alive_s_and_a_busy_one_is_kept(
    hub: Hub,
) -> None:
    """The hub hangs up on a connection idle for ``keep_alive_s`` (7 s here), and only on
    an idle one: a connection asked something every 4 s is still answered at 8 s."""
    ask = b"GET /livez HTTP/1.1\r\nHost: hub.test\r\n\r\n"

    async def idle_until_closed() -> float:
        reader, writer = await asyncio.open_connection(hub.host, hub.port)
        writer.write(ask)
        assert await _answered_status(reader) == 200
        answered = time.monotonic()
        left = await asyncio.wait_for(reader.read(), 20)  # b"" once the hub hangs up
        writer.close()
        assert left == b""
        return time.monotonic() - answered

    async def asked_every(seconds: float, times: int) -> list[int]:
        reader, writer = await asyncio.open_connection(hub.host, hub.port)
        statuses = []
        for n in range(times):
            if n:
                await asyncio.sleep(seconds)
            writer.write(ask)
            statuses.append(await _answered_status(reader))
        writer.close()
        return statuses

    idle_s, kept = await asyncio.gather(idle_until_closed(), asked_every(4.0, 3))
    assert KEEP_ALIVE_S - 0.5 <= idle_s <= KEEP_ALIVE_S + 2.5, idle_s
    assert kept == [200, 200, 200]


async def test_a_client_waiting_for_100_continue_hears_it_before_sending_its_body(
    hub: Hub,
) -> None:
    """curl asks ``Expect: 100-continue`` before a large body: the interim answer is
    written on its own, with nothing after it in the same turn, and must still go out."""
    target, body = "/v1/registrations", b"{}"
    head = request_head(
        "POST",
        target,
        {
            **v2_headers("POST", target, body, partner="other", secret="other-secret"),
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Expect": "100-continue",
        },
    )
    reader, writer = await asyncio.open_connection(hub.host, hub.port)
    writer.write(head)
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    await writer.drain()
    final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert final.startswith(b"HTTP/1.1 422 "), final  # an empty registration: refused


async def test_a_timestamp_in_the_future_is_refused(hub: Hub) -> None:
    path = "/v1/registrations/FUTURE-1"
    async with httpx.AsyncClient(base_url=hub.url) as client:
        ahead_60 = await client.get(
            path, headers=v2_headers("GET", path, b"", timestamp=int(time.time()) + 60)
        )
        ahead_300 = await client.get(
            path, headers=v2_headers("GET", path, b"", timestamp=int(time.time()) + 299)
        )
        ahead_5 = await client.get(
            path, headers=v2_headers("GET", path, b"", timestamp=int(time.time()) + 5)
        )
    assert ahead_60.status_code == ahead_300.status_code == 401
    assert "ahead of the hub's clock" in ahead_60.json()["error"]["message"]
    assert ahead_5.status_code == 404


async def test_connections_beyond_the_per_address_cap_are_closed(hub: Hub) -> None:
    opened = [await asyncio.open_connection(hub.host, hub.port) for _ in range(160)]
    await asyncio.sleep(0.3)
    closed = 0
    for reader, _ in opened:
        try:
            if await asyncio.wait_for(reader.read(1), 0.05) == b"":
                closed += 1
        except TimeoutError:
            pass
    for _, writer in opened:
        writer.close()
    assert closed >= 10


async def test_a_bni46_frame_trickled_a_byte_at_a_time_is_cut_off_from_its_first_byte(
    hub: Hub,
) -> None:
    # The first byte of a length prefix, then one more byte every 0.2 s.
    took = await trickle(hub.host, hub.iso_port, b"\x00", [b"\x30"] * 40, every_s=0.2)
    assert took < FRAME_TIMEOUT_S + 1.0


async def test_an_operator_token_opens_nothing_on_the_partner_side_and_a_partner_nothing_on_ops(
    hub_url: str,
) -> None:
    """Operators (``/ops``, bearer tokens) and partners (signed requests) are kept apart."""
    from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD

    basic = base64.b64encode(f"{OPERATOR}:{OPERATOR_PASSWORD}".encode()).decode()
    operator = {"Authorization": f"Basic {basic}", "X-Partner-Id": OPERATOR}
    path = "/v1/registrations/OPS-1"
    partner = v2_headers("GET", path, b"")
    async with httpx.AsyncClient(base_url=hub_url) as client:
        assert (await client.get("/ops/v1/reconciliations", headers=operator)).status_code == 200
        assert (await client.get(path, headers=partner)).status_code == 404  # let in
        as_operator = [
            await client.get(path, headers=operator),
            await client.post("/v1/payments/inquiry", headers=operator, content=b"{}"),
            await client.post("/pos/v1/inquiry", headers=operator, content=b"{}"),
            await client.post("/brilink/v1/inquiry", headers=operator, content=b"{}"),
            await client.post("/alfamart/v1/inquiry", headers=operator, content=b"{}"),
        ]
        signed_ops = v2_headers("GET", "/ops/v1/reconciliations", b"")
        as_partner = [
            await client.get("/ops/v1/reconciliations", headers=signed_ops),
            await client.get(
                "/ops/v1/reconciliations",
                headers={
                    "Authorization": "Basic " + base64.b64encode(b"demo:demo-secret").decode()
                },
            ),
        ]
    assert [r.status_code for r in as_operator] == [401] * 5
    assert [r.status_code for r in as_partner] == [401, 401]


async def test_endless_headers_sent_fast_are_cut_off_with_431(hub: Hub) -> None:
    idle_kib = hub.rss_kib()
    hub.reset_peak_rss()
    reader, writer = await asyncio.open_connection(hub.host, hub.port)
    writer.write(b"POST /v1/payments HTTP/1.1\r\nHost: hub.test\r\n")
    sent = 0
    try:
        while sent < 100 * MiB:
            writer.write(b"X-Filler: " + b"y" * 1000 + b"\r\n")
            sent += 1012
            if sent % (256 * 1024) < 1012:
                await asyncio.wait_for(writer.drain(), 10)
    except (ConnectionError, OSError):
        pass
    with contextlib.suppress(ConnectionError, OSError):
        answer = await asyncio.wait_for(reader.read(200), 10)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    writer.close()
    assert sent < 20 * MiB
    assert hub.rss_kib("VmHWM") - idle_kib <= 50 * 1024


async def test_non_ascii_session_cookies_and_csrf_tokens_are_refused_not_a_server_error(
    hub_url: str,
) -> None:
    """A forged cookie or token with a byte beyond ASCII (headers are latin-1) opens nothing."""
    from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD

    async with httpx.AsyncClient(base_url=hub_url) as client:
        forged_session = await client.get(
            "/ops/reconciliations", headers={"Cookie": b"hub_ops_session=finance|9999999999|n|\xe9"}
        )
        forged_login = await client.post(
            "/ops/login",
            headers={"Cookie": b"hub_ops_login=\xe9"},
            data={"username": OPERATOR, "password": OPERATOR_PASSWORD, "login_token": "\u00e8"},
        )
        form = await client.get("/ops/login")
        token = form.cookies["hub_ops_login"]
        signed_in = await client.post(
            "/ops/login",
            data={"username": OPERATOR, "password": OPERATOR_PASSWORD, "login_token": token},
        )
        forged_csrf = await client.post(
            "/ops/v1/reconciliations", headers={"X-CSRF-Token": b"\xe9"}
        )
    assert [r.status_code for r in (forged_session, forged_login, signed_in, forged_csrf)] == [
        303,  # to the sign-in page, as with no cookie
        403,
        303,
        403,
    ]


# Every header any channel, the partner API or the operators' side reads.
READ_HEADERS = (
    *("X-Partner-Id", "X-Timestamp", "X-Signature", "X-Signature-Version", "X-Nonce"),
    *("X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"),
    *("X-CLIENT-KEY", "X-Pos-Signature", "X-Pos-Timestamp", "X-Agent-Id", "X-CSRF-Token"),
    *("Authorization", "Cookie", "Content-Type", "Accept"),
)
BEYOND_ASCII = [
    *((name, b"\xe9\xff") for name in READ_HEADERS),
    ("Authorization", b"Basic \xe9\xe9=="),
    ("Authorization", b"Bearer \xe9"),
    ("Cookie", b"hub_ops_session=ops|9999999999|n|\xe9"),
    ("Cookie", b"hub_ops_login=\xe9"),
]


async def test_no_header_byte_beyond_ascii_on_any_route_gets_a_server_error(
    hub_url: str,
) -> None:
    """HTTP headers are latin-1: each route, sent each header with bytes beyond ASCII, answers
    in its own terms (401, 400, 303...), never 5xx and never a dropped connection."""
    async with httpx.AsyncClient(base_url=hub_url, timeout=10) as client:
        document = (await client.get("/openapi.json")).json()
        routes = [
            (method.upper(), re.sub(r"\{[^}]*\}", "1", path))
            for path, operations in document["paths"].items()
            for method in operations
        ]
        routes += [("GET", "/ops/"), ("GET", "/ops/reconciliations"), ("POST", "/ops/login")]
        failures = []
        for method, path in routes:
            for name, value in BEYOND_ASCII:
                try:
                    answer = await client.request(
                        method, path, headers={name: value}, content=b'{"reference": "X"}'
                    )
                except httpx.TransportError as exc:
                    failures.append((method, path, name, value, type(exc).__name__))
                    continue
                if answer.status_code >= 500:
                    failures.append((method, path, name, value, answer.status_code))
    assert len(routes) > 50
    assert failures == []


ODD_PATH_PARAMETERS = ("\u00b2-1", "\u0661-\u0662", "-1", "9" * 23, "%00", "%FF", "\u00e9")
ODD_BODIES = (
    b"",
    b"{",
    b"null",
    b"\xff",
    b'{"ids": [1e309], "reason": 1e309}',  # infinity: valid JSON, but no JSON can carry it back
    b'{"reason": "' + b"x" * 100_000 + b'"}',
)


async def test_an_operators_odd_path_or_body_on_any_ops_route_is_a_4xx_not_a_server_error(
    hub_url: str,
) -> None:
    """Signed in, an operator (or a script with their password) mistypes every way at once."""
    from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD

    basic = "Basic " + base64.b64encode(f"{OPERATOR}:{OPERATOR_PASSWORD}".encode()).decode()
    failures = []
    sent = 0
    async with httpx.AsyncClient(
        base_url=hub_url, timeout=20, headers={"Authorization": basic}
    ) as client:
        document = (await client.get("/openapi.json")).json()
        for path, operations in document["paths"].items():
            if not path.startswith("/ops/v1/"):
                continue
            concrete = [re.sub(r"\{[^}]*\}", odd, path) for odd in ODD_PATH_PARAMETERS]
            for method in operations:
                bodies = ODD_BODIES if method != "get" else (b"",)
                for target in concrete if "{" in path else [path]:
                    for body in bodies:
                        sent += 1
                        try:
                            answer = await client.request(
                                method.upper(),
                                target,
                                content=body,
                                headers={"Content-Type": "application/json"},
                            )
                        except httpx.TransportError as exc:
                            failures.append((method, target, body[:40], type(exc).__name__))
                            continue
                        if answer.status_code >= 500:
                            failures.append((method, target, body[:40], answer.status_code))
    assert failures == []
    assert sent > 100  # every ops route was reached


async def test_a_nul_in_a_reason_or_target_or_an_id_beyond_a_bigint_is_a_422_never_stored(
    hub_url: str,
) -> None:
    """PostgreSQL stores no NUL in text and no id beyond a bigint: the operators' API and the
    console refuse them at the door, with the field, instead of the store's 500."""
    from tests.e2e.conftest import OPERATOR, OPERATOR_PASSWORD

    big = "9" * 23
    basic = "Basic " + base64.b64encode(f"{OPERATOR}:{OPERATOR_PASSWORD}".encode()).decode()
    api_asks = [
        ("POST", "/ops/v1/dead-letters/replay", {"ids": ["0-1"], "reason": "ab\u0000c"}),
        ("POST", "/ops/v1/callbacks/redeliver", {"ids": [int(big)], "reason": "abcd"}),
        ("POST", "/ops/v1/callbacks/redeliver", {"ids": [1], "reason": "ab\u0000cd"}),
        ("POST", "/ops/v1/requests/redrive", {"hub_references": ["\u0000"], "reason": "abcd"}),
        ("POST", f"/ops/v1/changes/{big}/approve", {"reason": "abcd"}),
        ("POST", "/ops/v1/changes/1/approve", {"reason": "\u0000\u0000\u0000"}),
        ("GET", "/ops/v1/requests/stuck?older_than_s=1e309", None),
        ("GET", "/ops/v1/requests/stuck?older_than_s=nan", None),
        ("GET", "/ops/v1/callbacks?status=%00", None),
        ("GET", f"/ops/v1/audit?limit={big}", None),
        ("GET", f"/ops/v1/reconciliations/{big}", None),
    ]
    async with httpx.AsyncClient(base_url=hub_url, headers={"Connection": "close"}) as client:
        api = [
            (await client.request(m, p, json=b, headers={"Authorization": basic})).status_code
            for m, p, b in api_asks
        ]
        form = await client.get("/ops/login")
        await client.post(
            "/ops/login",
            data={
                "username": OPERATOR,
                "password": OPERATOR_PASSWORD,
                "login_token": form.cookies["hub_ops_login"],
            },
        )
        page = await client.get("/ops/callbacks")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None, page.text[:200]
        console = [
            (await client.post(path, data={"csrf": csrf[1], "reason": reason})).status_code
            for path, reason in [
                ("/ops/callbacks/1/redeliver", "ab\u0000c"),
                (f"/ops/callbacks/{big}/redeliver", "abcd"),
                (f"/ops/changes/{big}/approve", "abcd"),
                ("/ops/changes/1/approve", "x" * 501),
                ("/ops/requests/%00/redrive", "abcd"),
                ("/ops/dead-letters/%00/replay", "abcd"),
            ]
        ]
    assert api == [422] * len(api_asks)
    assert console == [422] * 6
