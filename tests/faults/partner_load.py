"""A partner's retrying client, written from the README's contract, not from the hub's code.

It signs each request as the README says (X-Signature = hex HMAC-SHA256 of the partner
secret over ``X-Timestamp + "." + raw body``), and retries what a partner retries: a 503,
a 5xx, a connection error or a timeout, always with the same reference and content, until
a 2xx, a final 4xx, or its time budget runs out.
"""

import asyncio
import hashlib
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.people import applicant


@dataclass
class Tally:
    """What the partner saw: every reference it sent and which ones got a 2xx."""

    sent: int = 0
    accepted: dict[str, str] = field(default_factory=dict)  # reference -> kind
    final_refusals: dict[str, int] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)  # every non-2xx answer, by code
    niks: dict[str, str] = field(default_factory=dict)  # registration reference -> NIK

    @property
    def ok(self) -> int:
        return len(self.accepted)


class RetryingPartner:
    def __init__(
        self,
        base_urls: list[str],
        partner_id: str = "demo",
        secret: str = "demo-secret",
        budget_s: float = 120.0,
    ) -> None:
        self.base_urls = base_urls
        self.partner_id = partner_id
        self.secret = secret.encode()
        self.budget_s = budget_s
        self.tally = Tally()
        self._http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=512))
        self._next = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    def _headers(self, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256)
        return {
            "Content-Type": "application/json",
            "X-Partner-Id": self.partner_id,
            "X-Timestamp": timestamp,
            "X-Signature": signature.hexdigest(),
        }

    async def post(self, path: str, payload: dict[str, Any], kind: str) -> int | None:
        """POST until a 2xx or a final answer; the status, or None if the budget ran out."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        reference = payload["reference"]
        self.tally.sent += 1
        deadline = time.monotonic() + self.budget_s
        wait = 0.1
        while time.monotonic() < deadline:
            url = self.base_urls[self._next % len(self.base_urls)] + path
            self._next += 1
            try:
                response = await self._http.post(url, content=body, headers=self._headers(body))
            except httpx.HTTPError as exc:
                self.tally.codes[type(exc).__name__] += 1
            else:
                if 200 <= response.status_code < 300:
                    self.tally.accepted[reference] = kind
                    return response.status_code
                self.tally.codes[str(response.status_code)] += 1
                if response.status_code < 500 and response.status_code != 429:
                    self.tally.final_refusals[reference] = response.status_code
                    return response.status_code
                retry_after = response.headers.get("Retry-After")
                if retry_after is not None:
                    wait = min(float(retry_after), 1.0)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 1.0)
        return None

    async def member_journey(self) -> None:
        """One person: a registration, then a month's contribution (Rp16,800) for them."""
        person = applicant()
        self.tally.niks[person["reference"]] = person["nik"]
        if await self.post("/v1/registrations", person, "registration") not in (200, 202):
            return
        payment = {
            "reference": f"PAY-{person['reference']}",
            "nik": person["nik"],
            "months": 1,
            "amount": 16_800,
            "paid_at": datetime.now(UTC).isoformat(),
        }
        await self.post("/v1/payments", payment, "payment")

    async def run(self, people: int, concurrency: int) -> None:
        """``people`` journeys, ``concurrency`` at a time."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(people):
            queue.put_nowait(i)

        async def worker() -> None:
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self.member_journey()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
