"""BNI's switch and agent app, as the tests play them: ISO 8583 frames over TCP, signed JSON.

ISO operations take ``wire`` as a dict of field number -> value (``"t"``, the MTI, is
optional: the operation implies it). Values that do not fit the spec are sent anyway,
as the raw bytes a broken switch would send, so garbage reaches the hub's server.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from adapters.bni46 import Bni46Adapter, iso
from hub.signing import sign
from tests.channels.kit import WireAnswer, World

PARTNER_ID = "bni"
SECRET = "bni-secret"
ACQUIRER = "009"
REGISTRATIONS = "/bni46/v1/registrations"
MTI = {"echo": "0800", "inquiry": "0200", "payment": "0200", "reversal": "0400"}
ANSWER_TIMEOUT_S = 5.0
CLOSED = "closed"
"""The code the driver reports when the hub hung up instead of answering."""


def request_message(operation: str, wire: Any) -> bytes:
    """The message (without its length prefix) the switch sends for ``wire``."""
    fields: dict[Any, Any] = {"t": MTI[operation]}
    if isinstance(wire, dict):
        fields.update(wire)
    try:
        return iso.encode(fields)
    except Exception:
        # Not encodable with the spec: send the values back to back, as garbage.
        text = str(fields.pop("t", ""))[:4] + "".join(str(v) for v in fields.values())
        if not isinstance(wire, dict):
            text += str(wire)
        return text.encode("utf-8", "replace")


def framed(message: bytes) -> bytes:
    """Length-prefixed; a message too long for the 2-byte prefix announces 65535 bytes."""
    if len(message) > 0xFFFF:
        return b"\xff\xff" + message[:0xFFFF]
    return iso.frame(message)


async def exchange(port: int, data: bytes) -> WireAnswer:
    """Send ``data`` on a fresh connection and read one answer (or see the hub hang up)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await read_answer(reader)
    except (ConnectionError, asyncio.IncompleteReadError):
        return WireAnswer(CLOSED, None, None)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def read_answer(reader: asyncio.StreamReader) -> WireAnswer:
    """One framed answer; its field 39 is the code."""
    try:
        prefix = await asyncio.wait_for(reader.readexactly(2), ANSWER_TIMEOUT_S)
        message = await asyncio.wait_for(
            reader.readexactly(int.from_bytes(prefix, "big")), ANSWER_TIMEOUT_S
        )
    except asyncio.IncompleteReadError:
        return WireAnswer(CLOSED, None, None)
    except TimeoutError:
        return WireAnswer("no answer", None, None)
    fields = iso.decode(message)
    return WireAnswer(fields.get("39", "no field 39"), None, fields)


class Switch:
    """One persistent connection of BNI's switch to the hub's ISO 8583 port."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, port: int) -> AsyncIterator["Switch"]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, fields: dict[str, str]) -> None:
        await self.write(iso.frame(iso.encode(fields)))

    async def answer(self) -> dict[str, str]:
        got = await read_answer(self.reader)
        assert got.body is not None, f"no answer: {got.code}"
        return dict(got.body)

    async def ask(self, fields: dict[str, str]) -> dict[str, str]:
        await self.send(fields)
        return await self.answer()

    async def hung_up(self) -> bool:
        """Whether the hub closes the connection (within 5 s) instead of sending more."""
        try:
            return await asyncio.wait_for(self.reader.read(1), 5) == b""
        except ConnectionError:
            return True


def iso_port(world: World) -> int:
    """Where the world's BNI 46 server listens (a free port picked at start)."""
    channel = world.channels["bni46"]
    assert isinstance(channel, Bni46Adapter)
    return channel.port


def signed_headers(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "X-Partner-Id": PARTNER_ID,
        "X-Timestamp": stamp,
        "X-Signature": sign(secret, stamp, body),
        "Content-Type": "application/json",
    }


class Bni46Driver:
    slug = "bni46"
    operations = ("registration", "echo", "inquiry", "payment", "reversal")
    success_codes = frozenset({"00"})
    error_codes = frozenset({"12", "13", "14", "25", "30", "63", "88", "91", "94", CLOSED})
    system_error_codes = frozenset({"96"})
    # "t" (the MTI), "p" and "1" (the bitmaps) are the codec's keys: it sets them itself.
    optional_fields: Mapping[str, frozenset[str]] = {
        "registration": frozenset({"agent_id"}),
        "echo": frozenset({"t", "p", "1"}),
        "inquiry": frozenset({"4", "42", "49", "t", "p", "1"}),
        "payment": frozenset({"42", "49", "t", "p", "1"}),
        "reversal": frozenset({"42", "49", "48", "t", "p", "1"}),
    }
    # The page: fields it does not list are "ignored, so your switch may add, say, field 33".
    ignores_unknown_fields: frozenset[str] = frozenset({"echo", "inquiry", "payment", "reversal"})

    async def send(self, world: World, operation: str, wire: Any) -> WireAnswer:
        if operation == "registration":
            return await self.register(world, wire)
        return await exchange(iso_port(world), framed(request_message(operation, wire)))

    async def register(self, world: World, wire: Any) -> WireAnswer:
        body = json.dumps(wire).encode()
        headers = signed_headers(body, int(world.clock().timestamp()))
        response = await world.client.post(REGISTRATIONS, content=body, headers=headers)
        answer = response.json()
        return WireAnswer(answer.get("response_code", "?"), response.status_code, answer)


DRIVER = Bni46Driver()
