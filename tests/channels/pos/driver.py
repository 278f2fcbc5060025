"""Talks to the hub as a Kantor Pos counter or agent does: signed JSON, or a signed CSV file."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from adapters.pos.signing import signed_headers
from adapters.pos.wire import (
    INQUIRY_PATH,
    PAYMENT_PATH,
    PAYMENT_STATUS_PATH,
    REGISTRATION_PATH,
    REGISTRATION_STATUS_PATH,
    RESPONSE_CODES,
    REVERSAL_PATH,
    UPLOAD_PATH,
)
from tests.channels.kit import WORLD_NOW, WireAnswer, World, answer_of

AGENT = "pos-jakarta"
SECRET = "pos-secret"  # config/test.toml
WIB = timezone(timedelta(hours=7))

PATHS = {
    "registration": REGISTRATION_PATH,
    "registration_status": REGISTRATION_STATUS_PATH,
    "inquiry": INQUIRY_PATH,
    "payment": PAYMENT_PATH,
    "payment_status": PAYMENT_STATUS_PATH,
    "reversal": REVERSAL_PATH,
    "upload": UPLOAD_PATH,
}


def timestamp() -> str:
    """The world's fixed clock as a counter writes it: WIB, ISO 8601 with the offset."""
    return WORLD_NOW.astimezone(WIB).isoformat()


def frame(operation: str, wire: Any) -> bytes:
    """The bytes a counter or agent sends for ``wire``.

    An upload's wire is ``{"berkas": "<the CSV file>"}``; anything else in its place
    is sent as the file it would be as text, so garbage stays garbage.
    """
    if operation == "upload":
        if isinstance(wire, dict) and isinstance(wire.get("berkas"), str):
            return str(wire["berkas"]).encode("utf-8", "replace")
        return json.dumps(wire, default=str).encode()
    return json.dumps(wire, default=str).encode()


_OPTIONAL: Mapping[str, frozenset[str]] = {
    "registration": frozenset({"kodeLoket"}),
    "inquiry": frozenset({"jumlahBulan"}),
    "payment": frozenset({"kodeLoket"}),
    "reversal": frozenset({"alasan"}),
}
"""Fields the page marks optional, per operation."""


@dataclass(frozen=True, slots=True)
class PosDriver:
    slug: str = "pos"
    operations: tuple[str, ...] = tuple(PATHS)
    success_codes: frozenset[str] = frozenset({"00"})
    error_codes: frozenset[str] = frozenset(RESPONSE_CODES) - {"00", "96"}
    system_error_codes: frozenset[str] = frozenset({"96"})
    optional_fields: Mapping[str, frozenset[str]] = field(default_factory=lambda: _OPTIONAL)
    # An upload's wire is the file ("berkas"); other keys never leave the harness.
    ignores_unknown_fields: frozenset[str] = frozenset({"upload"})

    async def send(
        self,
        world: World,
        operation: str,
        wire: Any,
        agent: str = AGENT,
        secret: str = SECRET,
        stamp: str | None = None,
    ) -> WireAnswer:
        path = PATHS[operation]
        body = frame(operation, wire)
        headers = signed_headers(agent, secret, "POST", path, body, stamp or timestamp())
        headers["Content-Type"] = "text/csv" if operation == "upload" else "application/json"
        response = await world.client.post(path, content=body, headers=headers)
        return answer_of(response, "kodeRespon")


DRIVER = PosDriver()
