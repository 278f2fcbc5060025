"""An Agen Perisai agent's phone app, written from docs/channels/perisai.md ("Signing a
request") with httpx and hmac only, and the operator's ``hub agents add`` that issues it."""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx

from tests.support.hubproc import hub_cli

AGENCY = "perisai-bali"
AGENCY_SECRET = "perisai-bali-secret"  # config/test.toml


class AgentApp:
    """The agent's phone app: every request signed with version 2 under its own id and key."""

    def __init__(self, client: httpx.AsyncClient, agent_id: str, key: str) -> None:
        self.client, self.agent_id, self.key = client, agent_id, key

    def _headers(self, method: str, target: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        nonce = uuid.uuid4().hex
        text = "\n".join(
            [
                "BPU-HMAC-SHA256-V2",
                method,
                target,
                self.agent_id,
                timestamp,
                nonce,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        return {
            "Content-Type": "application/json",
            "X-Partner-Id": self.agent_id,
            "X-Timestamp": timestamp,
            "X-Signature-Version": "2",
            "X-Nonce": nonce,
            "X-Signature": hmac.new(self.key.encode(), text.encode(), hashlib.sha256).hexdigest(),
        }

    async def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        body = json.dumps(payload).encode()
        return await self.client.post(path, content=body, headers=self._headers("POST", path, body))

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self._headers("GET", path, b""))

    async def wait_for(self, path: str, wanted: str, within_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + within_s
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = await self.get(path)
            body = response.json()
            if response.status_code == 200 and body.get("status") == wanted:
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"{path} not {wanted!r} within {within_s} s: {body}")


async def issue_agent(hub_env: dict[str, str], name: str) -> tuple[str, str]:
    """An agent of ``AGENCY`` issued as an operator does (``hub agents add``): (id, key)."""
    agent_id = f"prs-e2e-{uuid.uuid4().hex[:8]}"
    issued = await hub_cli(
        hub_env,
        "agents",
        "add",
        AGENCY,
        "--name",
        name,
        "--agent-id",
        agent_id,
        "--by",
        "ops: e2e",
        "--json",
    )
    assert issued.returncode == 0, issued.stderr + issued.stdout
    return agent_id, json.loads(issued.stdout)["key"]
