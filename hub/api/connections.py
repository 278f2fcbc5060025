"""Connection-level limits of the HTTP server: header read timeout, connections per address.

uvicorn closes idle keep-alive connections but has no timeout for a client that
sends its request line and headers a byte at a time (slowloris), and no cap per
client address. This protocol adds both to uvicorn's httptools protocol: the
headers of each request must be in within ``header_timeout_s`` of its first byte,
and an address holding ``max_per_client`` connections has any further one closed
at once. Body read timeouts are the edge's (``hub.api.edge``), per route.
"""

import asyncio
import logging
from collections import Counter as Tally
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


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and a per-address connection cap."""

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
