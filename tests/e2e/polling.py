"""Waiting for the core consumer, bounded."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.support.partner import SignedClient


async def wait_for_status(
    client: SignedClient, path: str, wanted: str, within_s: float, part: str | None = None
) -> tuple[dict[str, Any], float]:
    """Poll a status path until it shows ``wanted``; return the body and seconds taken.

    ``part`` names a nested object whose status to wait for instead (a payment's
    ``reversal``), which is null until there is one."""
    started = time.monotonic()
    body: dict[str, Any] = {}
    while time.monotonic() - started < within_s:
        response = await client.get(path)
        body = response.json()
        shown = body.get(part) if part else body
        if response.status_code == 200 and shown and shown.get("status") == wanted:
            return body, time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} not {wanted!r} within {within_s} s; last answer {body}")


async def resent_while(
    send: Callable[[], Awaitable[httpx.Response]], status: int, within_s: float, pause_s: float
) -> httpx.Response:
    """Send again, as a partner does, while the answer is ``status`` and time is left; the
    last answer."""
    deadline = time.monotonic() + within_s
    while True:
        response = await send()
        if response.status_code != status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(pause_s)
