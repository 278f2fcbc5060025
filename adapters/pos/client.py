"""The agent's side of an upload (``hub upload pos FILE``): the file streamed from disk, signed."""

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx

from adapters.pos.signing import AGENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from adapters.pos.wire import UPLOAD_PATH


def upload_file(
    url: str,
    agent_id: str,
    secret: str,
    path: Path,
    *,
    on_sent: Callable[[int], None] = lambda n: None,
    timeout_s: float = 600.0,
    now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
) -> httpx.Response:
    """POST an agent's CSV file, signed, streaming it from disk; ``on_sent`` counts bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    timestamp = now().isoformat(timespec="seconds")

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as file:
            while chunk := file.read(256 * 1024):
                yield chunk
                on_sent(len(chunk))

    headers = {
        AGENT_HEADER: agent_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(
            secret, "POST", UPLOAD_PATH, agent_id, timestamp, digest.hexdigest()
        ),
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Length": str(path.stat().st_size),
    }
    timeout = httpx.Timeout(30.0, read=timeout_s)
    return httpx.post(
        url.rstrip("/") + UPLOAD_PATH, content=chunks(), headers=headers, timeout=timeout
    )
