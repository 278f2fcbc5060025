"""The HTTP exchanges a channel's page documents (docs/channels/<slug>.md), parsed.

A page shows each example as a fenced ``http request`` block (``METHOD /path``,
header lines, a blank line, the raw body) followed by an ``http response`` block
(``HTTP/1.1 <status>``, headers, a blank line, the JSON body). The OpenAPI document
takes its examples from here, and the tests replay them, so both read the same text.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
"""Every fenced block, whatever its info string, so one block's closing fence is never
mistaken for the next block's opening."""


@dataclass(frozen=True, slots=True)
class HttpExample:
    """One documented HTTP exchange: the request as sent and the response as answered."""

    title: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: Any


class PageError(ValueError):
    """The page's examples are not laid out as described above."""


def http_examples(text: str) -> list[HttpExample]:
    """The ``http request`` / ``http response`` pairs of a page, in page order.

    The nearest heading above a pair names the example.
    """
    examples: list[HttpExample] = []
    pending: tuple[str, str, str, dict[str, str], bytes] | None = None
    for match in _FENCE.finditer(text):
        info, content = match.groups()
        words = info.split()
        if len(words) != 2 or words[0] != "http" or words[1] not in ("request", "response"):
            continue
        head, _, body = content.partition("\n\n")
        first, *header_lines = head.splitlines()
        headers = dict(_header(line) for line in header_lines if line.strip())
        if words[1] == "request":
            method, path = first.split()[:2]
            heading = _heading_before(text, match.start())
            pending = (heading, method, path, headers, body.rstrip("\n").encode())
            continue
        if pending is None:
            raise PageError("a response block with no request before it")
        stripped = body.strip()
        examples.append(
            HttpExample(
                *pending,
                status=int(first.split()[1]),
                response_headers=headers,
                response_body=json.loads(stripped) if stripped else None,
            )
        )
        pending = None
    return examples


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


def _heading_before(text: str, position: int) -> str:
    headings = re.findall(r"^#+ (.+)$", text[:position], re.M)
    return headings[-1] if headings else "example"
