"""Each answer leaves the hub's HTTP server in one write (``JoinedWrites``), and nothing
written is lost, reordered or sent after the connection is gone."""

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from uvicorn.server import ServerState

from hub.api.connections import HELD_AT_MOST, JoinedWrites, guarded_protocol


class RecordingTransport(asyncio.Transport):
    """A connection's socket, as far as the protocol sees it: what was sent, in which
    calls, and whether it was closed or aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.reading = True
        self.protocol: asyncio.BaseProtocol = asyncio.Protocol()
        self.limits = (0, 0)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.sent.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.sent.append(b"<eof>")

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.limits = (low or 0, high or 0)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.limits


async def _next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_the_writes_of_a_turn_leave_as_one_on_the_loops_next_turn() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
    joined.write(b"{}")
    assert socket.sent == []
    await _next_turn()
    assert socket.sent == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"]
    joined.write(b"")  # nothing to send, nothing scheduled
    joined.writelines([b"ne", b"xt"])
    await _next_turn()
    assert socket.sent[1:] == [b"next"]


async def test_a_write_nothing_follows_leaves_on_the_loops_next_turn() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert socket.sent == []
    await _next_turn()
    assert socket.sent == [b"HTTP/1.1 100 Continue\r\n\r\n"]


async def test_close_sends_what_is_held_first_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    closing, aborting = RecordingTransport(), RecordingTransport()
    for transport, end in ((closing, JoinedWrites.close), (aborting, JoinedWrites.abort)):
        joined = JoinedWrites(transport, loop)
        joined.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        end(joined)
    await _next_turn()
    assert closing.sent == [b"HTTP/1.1 408 Request Timeout\r\n\r\n"] and closing.closed
    assert aborting.sent == [] and aborting.aborted


async def test_what_is_held_is_dropped_if_the_connection_closed_meanwhile() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.write(b"late")
    socket.closed = True  # the peer went away before the loop came round
    await _next_turn()
    assert socket.sent == []


async def test_a_large_write_goes_out_at_once_after_what_is_held() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    chunk = b"x" * (HELD_AT_MOST + 1)
    joined.write(chunk)
    assert socket.sent == [chunk]
    joined.write(b"head")
    joined.write(b"er")
    joined.write(chunk)
    assert socket.sent == [chunk, b"header", chunk]
    joined.write(b"a" * HELD_AT_MOST)
    await _next_turn()
    assert socket.sent[-1] == b"a" * HELD_AT_MOST


async def test_a_stream_of_small_writes_never_has_more_than_the_limit_held() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    chunks = [bytes([65 + n % 26]) * 1000 for n in range(100)]
    for chunk in chunks:
        joined.write(chunk)
        assert joined.get_write_buffer_size() <= HELD_AT_MOST
    assert len(socket.sent) == 6 and all(len(sent) <= HELD_AT_MOST for sent in socket.sent)
    await _next_turn()
    assert b"".join(socket.sent) == b"".join(chunks)


async def test_everything_but_the_writes_is_the_transports_own() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.pause_reading()
    assert not socket.reading and not joined.is_reading()
    joined.resume_reading()
    assert socket.reading and joined.is_reading()
    protocol = asyncio.Protocol()
    joined.set_protocol(protocol)
    assert socket.protocol is protocol and joined.get_protocol() is protocol
    joined.set_write_buffer_limits(high=8_192, low=1_024)
    assert joined.get_write_buffer_limits() == (1_024, 8_192)
    assert joined.get_extra_info("peername") == ("127.0.0.1", 50000)
    assert joined.can_write_eof()
    joined.write(b"last words")
    joined.write_eof()  # what is held goes first
    assert socket.sent == [b"last words", b"<eof>"]


async def test_what_is_held_counts_as_buffered_until_it_is_sent() -> None:
    socket = RecordingTransport()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.write(b"12345")
    assert joined.get_write_buffer_size() == 5
    await _next_turn()
    assert joined.get_write_buffer_size() == 0 and socket.sent == [b"12345"]


def _protocol(app: FastAPI) -> Any:
    config = uvicorn.Config(app, log_config=None, lifespan="off", server_header=False)
    config.load()
    return guarded_protocol(10.0, 256)(config=config, server_state=ServerState(), app_state={})


async def test_the_servers_answer_is_one_write_with_its_head_and_body() -> None:
    app = FastAPI()

    @app.post("/v1/registrations")
    async def accept() -> JSONResponse:
        return JSONResponse({"status": "accepted"}, status_code=202)

    protocol, socket = _protocol(app), RecordingTransport()
    protocol.connection_made(socket)
    protocol.data_received(
        b"POST /v1/registrations HTTP/1.1\r\nhost: hub\r\ncontent-length: 2\r\n\r\n{}"
    )
    for _ in range(50):
        if socket.sent:
            break
        await asyncio.sleep(0.01)
    await _next_turn()  # a second write, had there been one, has had its turn to come
    assert len(socket.sent) == 1, socket.sent
    head, _, body = socket.sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 202 ")
    assert body == b'{"status":"accepted"}'
    protocol.connection_lost(None)
