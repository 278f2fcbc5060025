"""A partner's HTTP client: signs every request the way the hub's API requires."""

import json
import time
from typing import Any

import httpx

from hub.signing import sign

HUB_API_PATHS = frozenset(
    {
        "/v1/registrations",
        "/v1/registrations/{reference}",
        "/v1/registrations/{reference}/notifications",
        "/v1/payments/inquiry",
        "/v1/payments",
        "/v1/payments/{reference}",
        "/v1/payments/{reference}/notifications",
        "/v1/reversals",
    }
)
"""The paths of the hub's own partner API (v1), as its OpenAPI document must list them."""


class SignedClient:
    """Sends requests as one partner, signed with its secret."""

    def __init__(self, base_url: str, partner_id: str = "demo", secret: str = "demo-secret"):
        self.partner_id = partner_id
        self._secret = secret
        # The hub (uvicorn) closes a connection idle for 5 s, and httpx keeps one for 5 s:
        # a request sent on it at that moment meets the close ("Server disconnected
        # without sending a response", a browser test's status poll in CI, 2026-12-06).
        # A client that lets go of an idle connection sooner never sends into the close.
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=30, limits=httpx.Limits(keepalive_expiry=2.0)
        )

    def headers(self, body: bytes) -> dict[str, str]:
        ts = str(int(time.time()))
        return {
            "Content-Type": "application/json",
            "X-Partner-Id": self.partner_id,
            "X-Timestamp": ts,
            "X-Signature": sign(self._secret, ts, body),
        }

    async def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        body = json.dumps(payload).encode()
        return await self.http.post(path, content=body, headers=self.headers(body))

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path, headers=self.headers(b""))

    async def aclose(self) -> None:
        await self.http.aclose()
