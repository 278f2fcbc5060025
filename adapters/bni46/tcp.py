"""A TCP server of length-prefixed frames, answered concurrently; it knows no protocol.

A bank switch keeps a few long-lived connections open and pipelines requests on
them. Each frame is a big-endian length prefix and that many bytes. The server
reads frames, hands each to a ``FrameHandler`` and writes its answer back on the
same connection, in whatever order the answers are ready. It guards itself: a cap
on connections per client address, an idle timeout before a frame's first byte, a
timeout for the whole frame from that byte on, a frame size limit, and a bound on
the requests one connection has in flight. What a frame means is the handler's.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("hub.channels.tcp")


class HangUp(Exception):
    """The connection cannot go on (framing lost, or a frame no one can answer)."""


@dataclass(frozen=True, slots=True)
class FrameLimits:
    """How the server guards itself; see the channel's options for what each is."""

    host: str
    port: int
    prefix_bytes: int
    max_frame_bytes: int
    frame_timeout_s: float
    idle_timeout_s: float
    max_connections_per_client: int
    max_in_flight: int
    shutdown_grace_s: float


FrameHandler = Callable[[bytes, str], Callable[[], Awaitable[bytes]]]
"""``handler(frame, peer)`` looks at a frame at once (raising ``HangUp`` to close the
connection) and gives back the work that answers it, which the server runs in a task."""


@dataclass(eq=False)
class _Connection:
    """One TCP connection and the requests it has in flight."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer: str
    address: str
    slots: asyncio.Semaphore
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)
    answering: set[asyncio.Task[None]] = field(default_factory=set)
    reading: asyncio.Task[None] | None = None


def peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's IP address (without its port)."""
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class FrameServer:
    """Serves ``handler`` on ``limits.host:limits.port`` until ``stop``."""

    def __init__(self, limits: FrameLimits, handler: FrameHandler, name: str) -> None:
        self._limits = limits
        self._handler = handler
        self._name = name
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._serving: set[asyncio.Task[object]] = set()

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one the system picked for 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError(f"the {self._name} server is not running")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, self._limits.host, self._limits.port
        )
        log.info("%s server on %s:%d", self._name, self._limits.host, self.port)

    async def stop(self) -> None:
        """Stop listening, stop reading, answer what was already read, then hang up."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections):
            if connection.reading is not None:
                connection.reading.cancel()
        if self._serving:
            await asyncio.wait(list(self._serving))
        await server.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        limits = self._limits
        address = peer_address(writer)
        connection = _Connection(
            reader,
            writer,
            str(writer.get_extra_info("peername")),
            address,
            asyncio.Semaphore(limits.max_in_flight),
        )
        serving = asyncio.current_task()
        held = sum(1 for c in self._connections if c.address == address)
        crowded = held >= limits.max_connections_per_client
        if self._server is None or serving is None or crowded:
            if crowded:
                log.warning("%s: more than %d connections; closing", connection.peer, held)
            writer.close()
            return
        self._serving.add(serving)
        self._connections.add(connection)
        connection.reading = asyncio.create_task(self._read_requests(connection))
        try:
            # wait(), not await: a reading loop cancelled by stop() is a normal end here.
            await asyncio.wait([connection.reading])
        finally:
            connection.reading.cancel()
            await self._hang_up(connection)
            self._connections.discard(connection)
            self._serving.discard(serving)

    async def _hang_up(self, connection: _Connection) -> None:
        if connection.answering:
            _, late = await asyncio.wait(
                list(connection.answering), timeout=self._limits.shutdown_grace_s
            )
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        connection.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await connection.writer.wait_closed()

    async def _read_requests(self, connection: _Connection) -> None:
        """Read frames until the peer leaves or the stream is beyond repair; never raise."""
        try:
            while True:
                frame = await self._read_frame(connection.reader)
                answer = self._handler(frame, connection.peer)
                await connection.slots.acquire()
                task = asyncio.create_task(self._answer(connection, answer))
                connection.answering.add(task)
                task.add_done_callback(connection.answering.discard)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                log.warning("%s: hung up in the middle of a frame", connection.peer)
        except (ConnectionError, OSError):
            log.info("%s: connection lost", connection.peer)
        except HangUp as exc:
            log.warning("%s: closing the connection: %s", connection.peer, exc)
        except Exception:
            log.exception("%s: unexpected error reading frames; closing", connection.peer)

    async def _read_frame(self, reader: asyncio.StreamReader) -> bytes:
        """One frame. The idle timeout runs until its first byte; from then on, the whole
        frame (the rest of its length prefix included) has ``frame_timeout_s``."""
        limits = self._limits
        try:
            first = await asyncio.wait_for(reader.readexactly(1), limits.idle_timeout_s)
        except TimeoutError:
            raise HangUp(f"idle for {limits.idle_timeout_s:g} s") from None
        try:
            async with asyncio.timeout(limits.frame_timeout_s):
                prefix = first + await reader.readexactly(limits.prefix_bytes - 1)
                size = int.from_bytes(prefix, "big")
                if size == 0 or size > limits.max_frame_bytes:
                    raise HangUp(f"frame length {size} outside 1..{limits.max_frame_bytes}")
                return await reader.readexactly(size)
        except TimeoutError:
            raise HangUp("a frame did not arrive whole within the frame timeout") from None

    async def _answer(
        self, connection: _Connection, answer: Callable[[], Awaitable[bytes]]
    ) -> None:
        try:
            message = await answer()
            framed = len(message).to_bytes(self._limits.prefix_bytes, "big") + message
            async with connection.writing:
                connection.writer.write(framed)
                await connection.writer.drain()
        except (ConnectionError, OSError):
            log.info("%s: left before its answer was sent", connection.peer)
        except Exception:
            # Nothing may escape a task no one awaits; the connection serves on.
            log.exception("%s: could not answer a frame", connection.peer)
        finally:
            connection.slots.release()
