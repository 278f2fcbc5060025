"""A partner's callback endpoint, served for real on loopback, that can be told to fail."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from hub.broker import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CallbackServer:
    """Answers 500 to the first ``fail_first`` calls for a reference it was told to fail."""

    url: str
    received: list[Received] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, reference: str, times: int) -> None:
        self.failures[reference] = times

    def for_reference(self, reference: str) -> list[Received]:
        return [r for r in self.received if r.json.get("reference") == reference]


@contextlib.asynccontextmanager
async def callback_server() -> AsyncIterator[CallbackServer]:
    port = free_port()
    server = CallbackServer(url=f"http://127.0.0.1:{port}/bpu/callbacks")
    app = FastAPI()

    @app.post("/bpu/callbacks")
    async def receive(request: Request) -> Response:
        body = await request.body()
        server.received.append(Received(dict(request.headers), body))
        reference = json.loads(body).get("reference", "")
        if server.failures.get(reference, 0) > 0:
            server.failures[reference] -= 1
            return Response("partner is down", status_code=500)
        return Response(status_code=204)

    uv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        uv.should_exit = True
        await task
