"""Writes a signed-JSON channel's documented exchanges by running the real adapter.

A page's examples are sent, in order, to one fresh ``kit.world()`` (fixed clock);
each becomes a section: its heading, its note, the request exactly as signed and
sent, and the answer exactly as received. Answers are never typed by hand: each
channel's tests replay the page verbatim and expect exactly what it shows.

The channel supplies its examples, its worked signature and which answer headers
tell the partner something; sending, rendering and rewriting the page are here.
"""

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from tests.channels.kit import WORLD_NOW, SignedJsonDriver, World, world


@dataclass(frozen=True, slots=True)
class Example:
    """One documented exchange: a heading, what the partner's host sends, and how it signs it."""

    title: str
    operation: str
    wire: dict[str, Any]
    note: str = ""
    at: datetime = WORLD_NOW
    signing: dict[str, str] = field(default_factory=dict)
    """Overrides of the partner id or secret (e.g. a bad signature)."""
    compact: bool = False

    @property
    def body(self) -> bytes:
        # Indented for the reader unless compact; the signature covers these exact bytes.
        if self.compact:
            return json.dumps(self.wire, separators=(",", ":")).encode()
        return json.dumps(self.wire, indent=2).encode()


def bad_signature(wire: dict[str, Any], secret: str, note: str) -> Example:
    """The page's example of an inquiry signed with a secret that is not the partner's."""
    return Example("Bad signature", "inquiry", wire, note, signing={"secret": secret})


def another_channels_partner(wire: dict[str, Any], signing: dict[str, str], note: str) -> Example:
    """The page's example of another channel's partner, correctly signed, asking an inquiry."""
    return Example("Another channel's partner", "inquiry", wire, note, signing=signing)


def replace_generated(page: Path, text: str, name: str, content: str) -> str:
    """``text`` with the block between ``<!-- generated:name -->`` and its end marker replaced."""
    pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{page}: no <!-- generated:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)


def response_block(status: int, headers: Mapping[str, str], body: Any) -> str:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    head = "\n".join(lines)
    return f"```http response\n{head}\n\n{json.dumps(body, indent=2)}\n```"


@dataclass(frozen=True, slots=True)
class DocPage:
    """A channel's page under docs/channels/ and the driver whose partner it documents."""

    path: Path
    driver: SignedJsonDriver
    shown_headers: tuple[str, ...] = ()
    """Answer headers that tell the host something; the rest is HTTP's own business."""

    def target(self, example: Example) -> str:
        return self.driver.paths[example.operation]

    def headers(self, example: Example) -> dict[str, str]:
        """What the partner's host sends with the example's body at its time."""
        return self.driver.sign(self.target(example), example.body, example.at, **example.signing)

    def request_block(self, example: Example) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in self.headers(example).items())
        return (
            f"```http request\nPOST {self.target(example)}\n{headers}\n\n"
            f"{example.body.decode()}\n```"
        )

    async def section(self, w: World, example: Example) -> str:
        """The example's heading, note, request and the real answer to it."""
        response = await w.client.post(
            self.target(example), content=example.body, headers=self.headers(example)
        )
        shown = {k: response.headers[k] for k in self.shown_headers if k in response.headers}
        parts = [f"### {example.title}"]
        if example.note:
            parts.append(example.note)
        parts += [
            self.request_block(example),
            response_block(response.status_code, shown, response.json()),
        ]
        return "\n\n".join(parts)

    async def examples_markdown(self, examples: Sequence[Example]) -> str:
        """Each example as a documented section, answered by the real adapter in one world."""
        async with world() as w:
            return "\n\n".join([await self.section(w, example) for example in examples])

    def write(self, signature: str, examples: Sequence[Example]) -> None:
        """Rewrite the page's worked signature and its examples, answered by the adapter."""
        markdown = asyncio.run(self.examples_markdown(examples))
        self.rewrite({"signature": signature, "examples": markdown})

    def rewrite(self, blocks: Mapping[str, str]) -> None:
        """Replace each named generated block of the page."""
        text = self.path.read_text()
        for name, content in blocks.items():
            text = replace_generated(self.path, text, name, content)
        self.path.write_text(text)
