"""The floor: what this machine gives a minimal Python pipeline that keeps the hub's
guarantees, and what each layer of an HTTP stack costs on it.

    python -m benchmarks.floor [--duration 15] [--connections 32] [--results FILE]

Not the hub and not a target of issue 15: a yardstick for it. It says how much of the
hub's CPU a request is the least this machine and these libraries need, and so how much
is the hub's own work (docs/performance.md, "The floor").

1. **HTTP layers**, no store and no broker: the ingest benchmark's registrations, each
   validated by pydantic (``RegistrationRequest``) and answered 202, by three servers on
   uvloop: a raw ``httptools`` protocol; uvicorn with a plain ASGI callable; uvicorn with
   FastAPI (``benchmarks.bare_app``, the ingest benchmark's bare endpoint).
2. **The pipeline floor**: the raw protocol, the body read by orjson (no validation, no
   signature), the request claimed in the real inbox (``partner_requests``, migrated to
   head) by one ``INSERT ... ON CONFLICT DO NOTHING`` a batch (group commit, two
   statements in flight, each autocommitted, so durable before any of its requests is
   answered), its event published to Apache Kafka by the idempotent producer (acks=all)
   and acknowledged, then the 202. No consumer, no acknowledgement update, no rate limit,
   no log line, no metrics. The 202s wrk counted are checked against the inbox's rows.

Each server is its own process (its CPU is read from ``/proc``), driven by wrk with the
ingest benchmark's script, 2 threads and 32 connections, after a 3 s warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from benchmarks._database import asyncpg_dsn, connected, sqlalchemy_url, temporary_database
from benchmarks._people import person, registration_body
from benchmarks._procs import Server, cpu_seconds, cpu_snapshot, descendants, run_benchmark
from benchmarks._report import Row, append_results, fmt_ms, fmt_rate, print_table, run_id
from benchmarks.ingest import WrkResult, run_wrk, write_requests
from hub.broker import embedded_broker, free_port
from hub.settings import KAFKA_LIBS

MODES = ("raw", "asgi", "fastapi")
_NAMESPACE = uuid.UUID("0b8e1c3a-5d2f-4f7e-9a61-7c3d2b1e0f45")
_CLAIM = """
INSERT INTO partner_requests (partner_id, kind, reference, request_hash, event_id,
    hub_reference, member_key, status, event_json, created_at, updated_at, after_close)
SELECT 'demo', 'registration', v.reference, v.reference, v.event_id, v.hub_reference,
    v.nik, 'pending', v.event_json, now(), now(), false
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[])
    AS v(reference, event_id, hub_reference, nik, event_json)
ON CONFLICT DO NOTHING
"""
_HEALTHZ = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"

Handler = Callable[[bytes], Awaitable[bytes]]
_RUNNING: set[asyncio.Future[None]] = set()
"""Tasks in flight, held until done (the loop keeps only weak references to them)."""


def _spawn(work: Awaitable[None]) -> None:
    task = asyncio.ensure_future(work)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


def _answer(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )


class _RawHttp(asyncio.Protocol):
    """HTTP/1.1 keep-alive by ``httptools`` alone: POST bodies to ``handler``, GET is health."""

    def __init__(self, handler: Handler) -> None:
        import httptools

        self._handler = handler
        self._parser = httptools.HttpRequestParser(self)
        self._body: list[bytes] = []
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # uvloop's own TCPTransport

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        body, self._body = b"".join(self._body), []
        if self._parser.get_method() == b"GET":
            assert self._transport is not None
            self._transport.write(_HEALTHZ)
            return
        _spawn(self._respond(body))

    async def _respond(self, body: bytes) -> None:
        answer = await self._handler(body)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_answer(answer))


async def _validated(body: bytes) -> bytes:
    from hub.intake.requests import RegistrationRequest

    request = RegistrationRequest.model_validate_json(body)
    return orjson.dumps({"reference": request.reference, "status": "accepted"})


def _asgi_app() -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if scope["method"] == "GET":
            status, answer = 200, b"ok"
        else:
            status, answer = 202, await _validated(body)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


class _Claims:
    """Requests claimed in the inbox a batch at a time, two statements in flight."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._waiting: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self._in_flight = 0

    def claim(self, row: tuple[Any, ...]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if self._in_flight < 2:
            self._in_flight += 1
            _spawn(self._drain())
        return done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                columns = [list(column) for column in zip(*(row for row, _ in batch), strict=True)]
                try:
                    async with self._pool.acquire() as conn:
                        await conn.execute(_CLAIM, *columns)
                except Exception as exc:  # every request of the batch fails with it
                    for _, done in batch:
                        done.set_exception(exc)
                    continue
                for _, done in batch:
                    done.set_result(None)
        finally:
            self._in_flight -= 1


async def _pipeline(database: str, bootstrap: str, topic: str) -> Handler:
    import asyncpg
    from aiokafka import AIOKafkaProducer

    pool = await asyncpg.create_pool(asyncpg_dsn(database), min_size=2, max_size=2)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=0
    )
    await producer.start()
    claims = _Claims(pool)

    async def accept(body: bytes) -> bytes:
        request = orjson.loads(body)
        reference, nik = request["reference"], request["nik"]
        event_id = uuid.uuid5(_NAMESPACE, f"demo\x1fregistration\x1f{reference}")
        hub_reference = f"REG-{event_id.hex[:16].upper()}"
        event = orjson.dumps(
            {
                "event_id": event_id,
                "event_type": "RegistrationSubmitted",
                "partner_id": "demo",
                "reference": reference,
                "payload": request,
            }
        )
        await claims.claim((reference, event_id, hub_reference, nik, event.decode()))
        await asyncio.wait_for(await producer.send(topic, event, key=nik.encode()), 5)
        return orjson.dumps(
            {"reference": reference, "hub_reference": hub_reference, "status": "accepted"}
        )

    return accept


def serve(mode: str, port: int, database: str, bootstrap: str, topic: str) -> None:
    """One server of the floor, until killed (``--serve``)."""
    import uvloop

    if mode in ("asgi", "fastapi"):
        import uvicorn

        from benchmarks.bare_app import create_app

        app: Any = _asgi_app() if mode == "asgi" else create_app()
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="uvloop",
            http="httptools",
        )
        return

    async def main() -> None:
        handler = _validated if mode == "raw" else await _pipeline(database, bootstrap, topic)
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: _RawHttp(handler), "127.0.0.1", port)
        await asyncio.Event().wait()

    uvloop.run(main())


class Measured(NamedTuple):
    """One server's measured run: wrk's figures and the CPU it took."""

    name: str
    warm_ok: int
    result: WrkResult
    cpu_ms: dict[str, float]
    """CPU milliseconds a 2xx answer, by process group."""


async def _measure(
    name: str,
    server: Server,
    port: int,
    files: tuple[Path, Path],
    args: argparse.Namespace,
    others: dict[str, str],
) -> Measured:
    """Start ``server``, warm it up, measure it; CPU of it and of the ``others`` (by command)."""
    url = f"http://127.0.0.1:{port}"
    try:
        await server.start(f"{url}/healthz", within_s=60)  # stopped below even if it fails
        pid = server.pid
        common: dict[str, Any] = {"threads": args.threads, "connections": args.connections}
        warm = await run_wrk(url, files[0], duration_s=args.warmup, **common)
        before = cpu_snapshot()
        result = await run_wrk(url, files[1], duration_s=args.duration, **common)
        after = cpu_snapshot()
    finally:
        await server.stop()
    ok = max(result.ok, 1)
    cpu = {"server": cpu_seconds(before, after, descendants(before, pid)) * 1000 / ok}
    for label, comm in others.items():
        pids = {pid for pid, (c, _) in after.processes.items() if c == comm}
        cpu[label] = cpu_seconds(before, after, pids) * 1000 / ok
    return Measured(name, warm.ok, result, cpu)


def _argv(mode: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.floor", "--serve", mode, "--port", str(port), *extra]


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200_000, help="distinct registrations")
    parser.add_argument("--results", type=Path, help="append the figures as a JSON line here")
    args = parser.parse_args(argv)
    rid = run_id()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-floor-"))
    measured: list[Measured] = []
    stored = 0
    try:
        n_warm = args.requests // 6
        bodies = [registration_body(f"FLOOR-{rid}-{i}", person(i)) for i in range(args.requests)]
        files = (work / "warm.tsv", work / "measure.tsv")
        write_requests(files[0], bodies[:n_warm])
        write_requests(files[1], bodies[n_warm:])
        print(f"floor: {len(bodies):,} registrations; {args.connections} connections", flush=True)
        for mode in MODES:
            port = free_port()
            server = Server(mode, _argv(mode, port), dict(os.environ), work / f"{mode}.log")
            measured.append(await _measure(mode, server, port, files, args, {}))
            print(f"  {mode}: {measured[-1].result.ok_per_s:,.0f} req/s", flush=True)
        broker = embedded_broker("kafka", work / "kafka", KAFKA_LIBS, log_file=work / "kafka.log")
        await broker.start()
        try:
            async with temporary_database("hub_bench_floor") as database:
                measured.append(
                    await _pipeline_run(database, broker.bootstrap_servers, files, args)
                )
                async with connected(database) as conn:
                    stored = int(await conn.fetchval("SELECT count(*) FROM partner_requests"))
        finally:
            await broker.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _report(measured, stored, args, rid)
    return 0


async def _pipeline_run(
    database: str, bootstrap: str, files: tuple[Path, Path], args: argparse.Namespace
) -> Measured:
    from hub.kafka.topics import ensure_topics
    from hub.settings import load_settings
    from hub.store.migrations import upgrade_to_head_async

    await upgrade_to_head_async(sqlalchemy_url(database))
    settings = load_settings(kafka_bootstrap_servers=bootstrap, kafka_enable_idempotence=True)
    await ensure_topics(settings, bootstrap)
    port = free_port()
    topic = settings.kafka_member_events_topic
    argv = _argv(
        "pipeline", port, "--database", database, "--bootstrap", bootstrap, "--topic", topic
    )
    server = Server("pipeline", argv, dict(os.environ), files[0].parent / "pipeline.log")
    others = {"postgres": "postgres", "broker": "java"}
    result = await _measure("pipeline", server, port, files, args, others)
    print(f"  pipeline: {result.result.ok_per_s:,.0f} req/s", flush=True)
    return result


def _report(measured: list[Measured], stored: int, args: argparse.Namespace, rid: str) -> None:
    rows: list[Row] = []
    for m in measured:
        label = {
            "raw": "HTTP: httptools, raw protocol",
            "asgi": "HTTP: uvicorn, plain ASGI callable",
            "fastapi": "HTTP: uvicorn + FastAPI (bare endpoint)",
            "pipeline": "pipeline floor: claim + Kafka ack + 202",
        }[m.name]
        rows.append(Row(f"{label}: 2xx req/s", fmt_rate(m.result.ok_per_s)))
        rows.append(
            Row(f"{label}: p50 / p99", f"{fmt_ms(m.result.p50_ms)} / {fmt_ms(m.result.p99_ms)}")
        )
        for name, ms in m.cpu_ms.items():
            rows.append(Row(f"{label}: CPU a request, {name}", f"{ms * 1000:.0f} µs"))
        if m.result.non_2xx or m.result.socket_errors or m.result.timeouts:
            rows.append(
                Row(
                    f"{label}: non-2xx / errors / timeouts",
                    f"{m.result.non_2xx:,} / {m.result.socket_errors:,} / {m.result.timeouts:,}",
                )
            )
    pipeline = measured[-1]
    answered = pipeline.warm_ok + pipeline.result.ok
    rows.append(Row("pipeline floor: answered 202 / inbox rows", f"{answered:,} / {stored:,}"))
    print_table(
        f"floor ({args.connections} connections, {args.threads} wrk threads, "
        f"{args.duration} s after {args.warmup} s warm-up; run {rid})",
        rows,
    )
    if stored < answered:
        print(f"LOST: {answered:,} answered 202, {stored:,} in the inbox")
    figures: dict[str, float | int | bool | None] = {"stored": stored, "answered": answered}
    for m in measured:
        figures[f"{m.name}_ok_per_s"] = m.result.ok_per_s
        figures[f"{m.name}_p99_ms"] = m.result.p99_ms
        figures.update({f"{m.name}_cpu_ms_{k}": v for k, v in m.cpu_ms.items()})
        figures[f"{m.name}_cpu_ms_stack"] = sum(m.cpu_ms.values())
    # A yardstick of the machine, not of a broker: `make bench` shows it under both.
    args.broker = "machine"
    append_results(args, "floor", figures)


def _serve_from(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=[*MODES, "pipeline"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", default="")
    parser.add_argument("--bootstrap", default="")
    parser.add_argument("--topic", default="")
    args = parser.parse_args(argv)
    serve(args.serve, args.port, args.database, args.bootstrap, args.topic)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        _serve_from(sys.argv[1:])
    else:
        sys.exit(run_benchmark(lambda: main()))
