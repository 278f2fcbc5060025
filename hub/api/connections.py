"""Connection-level limits of the HTTP server: header read timeout, connections per address.

uvicorn closes idle keep-alive connections but has no timeout for a client that
sends its request line and headers a byte at a time (slowloris), and no cap per
client address. This protocol adds both to uvicorn's httptools protocol: the
headers of each request must be in within ``header_timeout_s`` of its first byte,
and an address holding ``max_per_client`` connections has any further one closed
at once. Body read timeouts are the edge's (``hub.api.edge``), per route.

It also sends each connection's writes of a turn of the loop in one, after the turn's
work (``JoinedWrites``): uvicorn writes an answer's head and body separately, two
``send`` calls and two TCP segments an answer.
"""

import asyncio
import logging
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any, ClassVar

from prometheus_client import Counter
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("hub.edge")

CUT_OFF = Counter(
    "hub_connections_cut_total",
    "Client connections the hub closed: slow headers, or too many from one address",
    ["reason"],
)


def _closing_answer(status: str, text: str) -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


_REQUEST_TIMEOUT = _closing_answer("408 Request Timeout", "headers not received in time\n")
_HEADERS_TOO_LARGE = _closing_answer("431 Request Header Fields Too Large", "headers too large\n")


HELD_AT_MOST = 16_384
"""The most ``JoinedWrites`` holds for the loop's next turn. A write that would take it
past this sends what is held at once, and a larger write goes out as it comes: a
streamed export meets the transport's flow control as it would without the hold."""


class JoinedWrites(asyncio.Transport):
    """A transport whose writes wait for the loop's next turn, then go out as one.

    uvicorn's protocol writes an answer's head when the app starts it and its body when
    the app sends it: two ``send`` system calls and two TCP segments for one small
    answer, each sent in the middle of the loop's turn. Here a connection's writes are
    held until the loop comes round (before it waits for the network again) and leave
    in one call. The answers of a turn leave together, after its work, so the clients'
    next requests tend to arrive together as well, and the loop reads more of them per
    wait. At most ``HELD_AT_MOST`` bytes are held. ``close`` and ``write_eof`` send what
    is held first; ``abort`` drops it, as an abort drops the transport's own buffer;
    what is held when the connection has closed meanwhile is dropped. Everything else
    is the transport's own.

    Measured on 2026-12-05 (``benchmarks.ingest --broker kafka --duration 15``,
    alternated pairs; docs/performance.md): in ``hub run``, 2,363 accepted req/s against
    2,227 with uvicorn's own writes (means of six pairs, five in its favour), the hub's
    process 0.377 ms of CPU a request against 0.396; in production's layout, 2,390
    against 2,260 (three pairs). Joining head and body at once, mid-turn, gained
    nothing: the gain is the turn's answers leaving together.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        size = len(data)
        if not size:
            return
        if self._held_size + size > HELD_AT_MOST:
            self._send_held()  # never more than HELD_AT_MOST held: flow control still holds
            if size > HELD_AT_MOST:
                self._transport.write(data)
                return
        if not self._held:
            self._loop.call_soon(self._send_held)
        self._held.append(bytes(data))
        self._held_size += size

    def _send_held(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._held_size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._held_size = 0
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._send_held()
        self._transport.write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and a per-address connection
    cap, its writes joined per turn of the loop (``JoinedWrites``)."""

    header_timeout_s: ClassVar[float] = 10.0
    max_header_bytes: ClassVar[int] = 65_536
    max_per_client: ClassVar[int] = 256
    open_per_client: ClassVar[Tally[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Reads and their flow control stay on the transport itself (uvicorn's
        # ``FlowControl`` holds it); the answers go out through ``JoinedWrites``.
        self.transport = JoinedWrites(transport, self.loop)
        address = self.client[0] if self.client else ""
        self._address = address
        self.open_per_client[address] += 1
        if self.open_per_client[address] > self.max_per_client:
            CUT_OFF.labels("too_many_connections").inc()
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            self.open_per_client[self._address] -= 1
            if self.open_per_client[self._address] <= 0:
                del self.open_per_client[self._address]
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self._header_timer is not None:  # still no end of headers after this chunk
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
                self._disarm()
                CUT_OFF.labels("headers_too_large").inc()
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        CUT_OFF.labels("slow_headers").inc()
        self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


def guarded_protocol(header_timeout_s: float, max_per_client: int) -> type[GuardedHttpProtocol]:
    """A protocol class for one server (its own count of connections per address)."""
    return type(
        "HubHttpProtocol",
        (GuardedHttpProtocol,),
        {
            "header_timeout_s": header_timeout_s,
            "max_per_client": max_per_client,
            "open_per_client": Tally(),
        },
    )
