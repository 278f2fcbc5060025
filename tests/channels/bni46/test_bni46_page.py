"""docs/channels/bni46.md, held to the code: its ISO 8583 frames are answered byte for byte,
its field tables are the frames decoded, its JSON exchanges are replayed."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.bni46 import Bni46Adapter, iso
from tests.channels.bni46.driver import Switch
from tests.channels.kit import DOCS, assert_answered_as_documented, http_examples, replay, world

PAGE = DOCS / "bni46.md"


def iso_port(channels: Mapping[str, object]) -> int:
    """The port the world's BNI 46 channel listens on for ISO 8583."""
    channel = channels["bni46"]
    assert isinstance(channel, Bni46Adapter)
    return channel.port


_HEX_BLOCK = re.compile(
    r"^```hex (request|response)\n(.*?)^```\n(?:\n((?:\|[^\n]*\n)+))?", re.M | re.S
)
_ROW = re.compile(r"^\| (\S+) \| .* \| `(.*)` \|$")


@dataclass(frozen=True)
class HexExample:
    request: bytes
    request_table: dict[str, str] | None
    response: bytes
    response_table: dict[str, str] | None


def _table(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    rows = [_ROW.match(line) for line in text.splitlines()[2:]]
    assert all(rows), text
    return {row.group(1): row.group(2) for row in rows if row}


def hex_examples() -> list[HexExample]:
    """The ```hex request``` / ```hex response``` pairs of the page, each with its table."""
    found = []
    pending: tuple[bytes, dict[str, str] | None] | None = None
    for match in _HEX_BLOCK.finditer(PAGE.read_text()):
        role, dump, table = match.groups()
        data = bytes.fromhex(dump)
        if role == "request":
            pending = (data, _table(table))
        else:
            assert pending is not None, "a hex response with no request before it"
            found.append(HexExample(*pending, data, _table(table)))
            pending = None
    return found


def test_the_page_documents_iso_examples_of_approvals_and_the_main_refusals() -> None:
    codes = {iso.decode(e.response[2:])["39"] for e in hex_examples()}
    assert {"00", "13", "14", "25", "30", "63", "94"} <= codes


def test_every_documented_field_table_is_the_frame_above_it_decoded() -> None:
    for example in hex_examples():
        for frame, table in (
            (example.request, example.request_table),
            (example.response, example.response_table),
        ):
            assert int.from_bytes(frame[:2], "big") == len(frame) - 2
            try:
                fields = iso.decode(frame[2:])
            except iso.MalformedMessage:
                assert table is None, "a table under a frame that does not decode"
                continue
            assert table == fields


async def test_every_documented_iso_exchange_is_answered_byte_for_byte() -> None:
    examples = hex_examples()
    assert len(examples) >= 10
    async with world() as w:
        port = iso_port(w.channels)
        for example in examples:
            async with Switch.connect(port) as switch:
                await switch.write(example.request)
                prefix = await switch.reader.readexactly(2)
                answer = prefix + await switch.reader.readexactly(int.from_bytes(prefix, "big"))
            assert answer == example.response, iso.decode(answer[2:])


async def test_every_documented_json_exchange_is_answered_as_documented() -> None:
    examples = http_examples("bni46")
    assert {e.status for e in examples} >= {200, 400, 401, 404, 409}
    async with world() as w:
        for example in examples:
            assert_answered_as_documented(example, await replay(w, example))


def test_the_page_lists_every_field_the_spec_uses() -> None:
    text = PAGE.read_text()
    for number, spec in iso.USED_FIELDS.items():
        if number == "h":
            continue
        assert re.search(rf"^\| {number} \| ", text, re.M), f"field {number} ({spec['desc']})"


def test_every_response_code_is_in_the_page_table() -> None:
    text = PAGE.read_text()
    for code in iso.ResponseCode:
        assert f"| `{code.value}` |" in text, code
