"""The one place that wires the hub together: settings in, running components out."""

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import uvicorn
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.agents.registry import AgentDirectory
from hub.api.app import HubApiGate, create_app
from hub.api.connections import guarded_protocol
from hub.api.edge import EdgeLimits, Gate
from hub.api.settlements import statement_router
from hub.broker import choose_engine, embedded_broker
from hub.callbacks.dispatcher import CallbackDispatcher, DeliveryPolicy
from hub.callbacks.log import CallbackLog
from hub.callbacks.outbox import CallbackPolicy
from hub.channels import load_channels
from hub.channels.base import ChannelAdapter
from hub.channels.openapi import documented_openapi
from hub.config_check import refuse_unsafe
from hub.intake.harvest import InquiryWatch
from hub.intake.model import Partner
from hub.intake.ports import NonceRegistry
from hub.intake.redrive import Redriver
from hub.intake.service import IntakeService
from hub.kafka.consumer import CoreConsumer
from hub.kafka.publisher import KafkaEventPublisher
from hub.limits.buckets import Limiter, LocalLimiter
from hub.limits.partners import PartnerLimits
from hub.limits.sql import PostgresLimiter
from hub.membership.calendar import indonesian_calendar
from hub.membership.coverage import CoverageRules, MembershipPolicy
from hub.membership.payment_code import PaymentCodes
from hub.membership.schedule import ContributionSchedule
from hub.observability.heap import measure_gc_pauses, settle_heap
from hub.observability.http import health_router
from hub.observability.lag import BrokerProbe, PartitionLag
from hub.observability.monitor import Monitor
from hub.ops.actions import OperatorActions
from hub.ops.auth import OperatorDirectory
from hub.ops.dead_letters import DeadLetterTopic
from hub.ops.sessions import SessionSigner
from hub.ops.web import OpsContext, mount_operations
from hub.reconciliation.ops_api import reconciliation_console_router, reconciliation_ops_router
from hub.reconciliation.resolution import Resolver
from hub.reconciliation.service import Reconciler
from hub.reconciliation.store import ReconciliationStore
from hub.resilience import Outage, sleep_unless_stopped, supervised
from hub.settings import KAFKA_LIBS, REPO_ROOT, Settings
from hub.settlement.book import SettlementBook
from hub.signing import SignatureVerifier
from hub.store.agents import SqlAgentStore
from hub.store.database import create_engine, is_postgresql
from hub.store.inbox import SqlRequestLedger
from hub.store.inquiries import PostgresUnpaidInquiries
from hub.store.migrations import upgrade_to_head_async
from hub.store.nonces import SqlNonceRegistry
from hub.store.outage import is_transient
from hub.store.recording import RecordingService

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = logging.getLogger("hub")


P = TypeVar("P", bound="DataclassInstance")


def from_settings(policy: type[P], settings: object, prefix: str = "") -> P:
    """A policy whose every field is the setting of that name (after ``prefix``).

    Config names each number once, and the policy takes it under the same name: a field
    without its setting fails here, when the hub is built, not later.
    """
    return policy(**{f.name: getattr(settings, prefix + f.name) for f in fields(policy)})


def schedule_from(settings: Settings) -> ContributionSchedule:
    return from_settings(ContributionSchedule, settings.schedule)


def coverage_rules(settings: Settings) -> CoverageRules:
    """The arrears and lapse rules on Indonesia's calendar (plus configured cuti bersama)."""
    m = settings.membership
    return CoverageRules(
        indonesian_calendar(m.coverage_timezone, m.cuti_bersama),
        from_settings(MembershipPolicy, m),
    )


def callback_policy(settings: Settings) -> CallbackPolicy:
    """Partners with a callback URL, and how long a callback is retried."""
    return CallbackPolicy(
        {pid: p.callback_url for pid, p in settings.partners.items() if p.callback_url},
        timedelta(seconds=settings.callback_give_up_after_s),
    )


def partners_of(settings: Settings) -> dict[str, Partner]:
    """Every configured partner as intake knows it: channel, zone, cut-off."""
    return {
        pid: Partner(pid, p.channel, p.timezone, p.settlement_cutoff)
        for pid, p in settings.partners.items()
    }


def reconciler(settings: Settings, engine: AsyncEngine) -> Reconciler:
    return Reconciler(
        ReconciliationStore(engine),
        SettlementBook(engine),
        settings.reconciliation_root,
        lambda: datetime.now(UTC),
        settings.reconciliation_time_tolerance_s,
    )


def intake_for(
    settings: Settings,
    engine: AsyncEngine,
    publisher: KafkaEventPublisher,
    limiter: Limiter | None = None,
    ledger: SqlRequestLedger | None = None,
) -> IntakeService:
    return IntakeService(
        ledger or SqlRequestLedger(engine),
        publisher,
        schedule_from(settings),
        PaymentCodes(settings.payment_code_prefix),
        rules=coverage_rules(settings),
        redrive_after=timedelta(seconds=settings.redrive_after_s),
        inquiries=inquiry_watch(settings, limiter or limiter_for(settings, engine), engine),
    )


@dataclass
class Hub:
    """Everything one hub process runs, built from settings."""

    settings: Settings
    bootstrap_servers: str
    engine: AsyncEngine
    publisher: KafkaEventPublisher
    intake: IntakeService
    app: FastAPI
    redriver: Redriver
    monitor: Monitor
    operations: OperatorActions
    channels: list[ChannelAdapter[Any]] = field(default_factory=list)
    agents: AgentDirectory | None = None
    ledger: SqlRequestLedger | None = None
    """The inbox intake claims in; its acknowledgements are written after the answers."""

    def consumer(self) -> CoreConsumer:
        recorder = RecordingService(
            self.engine,
            schedule_from(self.settings),
            coverage_rules(self.settings),
            callback_policy(self.settings),
        )
        return CoreConsumer(self.settings, self.bootstrap_servers, recorder)

    def dispatcher(self) -> CallbackDispatcher:
        s = self.settings
        secrets = {pid: p.secret.get_secret_value() for pid, p in s.partners.items()}
        policy = from_settings(DeliveryPolicy, s, prefix="callback_")
        return CallbackDispatcher(self.engine, secrets, policy)


def limiter_for(settings: Settings, engine: AsyncEngine) -> Limiter:
    """Rate-limit buckets in PostgreSQL (shared by API processes) or in this process."""
    store = settings.rate_limit_store
    if store == "postgresql" or (store == "auto" and is_postgresql(engine)):
        return PostgresLimiter(engine)
    return LocalLimiter()


def inquiry_watch(
    settings: Settings, limiter: Limiter, engine: AsyncEngine | None = None
) -> InquiryWatch:
    """The NIK-inquiry bucket and harvesting alert; counted in PostgreSQL where the buckets are."""
    return InquiryWatch(
        limiter,
        lambda partner_id: settings.rate_limit(partner_id, "inquiry_by_nik", "inquiry_by_nik"),
        window_s=settings.harvest_window_s,
        unpaid_niks_alert=settings.harvest_unpaid_niks,
        unpaid=(
            PostgresUnpaidInquiries(engine)
            if engine is not None and isinstance(limiter, PostgresLimiter)
            else None
        ),
    )


def build(settings: Settings, bootstrap_servers: str) -> Hub:
    engine = create_engine(settings.resolved_database_url, settings.database_pool_size)
    publisher = KafkaEventPublisher(settings, bootstrap_servers)
    limiter = limiter_for(settings, engine)
    ledger = SqlRequestLedger(engine)
    intake = intake_for(settings, engine, publisher, limiter, ledger)
    agents = AgentDirectory(SqlAgentStore(engine), settings.agent_refresh_s)
    app, channels = partner_app(
        settings,
        intake,
        SqlNonceRegistry(engine),
        lambda: datetime.now(UTC),
        CallbackLog(engine),
        engine,
        limiter,
        agents,
    )
    redriver = Redriver(
        SqlRequestLedger(engine),
        publisher,
        timedelta(seconds=settings.redrive_after_s),
        settings.redrive_batch,
        settings.redrive_poll_s,
    )
    monitor = Monitor(engine, BrokerProbe(settings, bootstrap_servers), settings)
    operations = operator_actions(settings, bootstrap_servers, engine, publisher)
    app.include_router(health_router(monitor))
    ops = ops_context(settings, operations, monitor)
    mount_operations(app, ops)
    store = ReconciliationStore(engine)
    resolver = Resolver(store, intake, partners_of(settings), lambda: datetime.now(UTC))
    app.include_router(
        reconciliation_ops_router(
            ops, reconciler(settings, engine), store, resolver, partners_of(settings)
        )
    )
    app.include_router(reconciliation_console_router(ops, store))
    return Hub(
        settings,
        bootstrap_servers,
        engine,
        publisher,
        intake,
        app,
        redriver,
        monitor,
        operations,
        channels,
        agents,
        ledger,
    )


def operator_actions(
    settings: Settings, bootstrap_servers: str, engine: AsyncEngine, publisher: KafkaEventPublisher
) -> OperatorActions:
    return OperatorActions(
        engine,
        DeadLetterTopic(settings, bootstrap_servers),
        publisher,
        settings.callback_give_up_after_s,
    )


def ops_context(settings: Settings, operations: OperatorActions, monitor: Monitor) -> OpsContext:
    """The console and ops API: operators from config, sessions signed with the ops secret."""
    secret = settings.ops_session_secret.get_secret_value().encode() or secrets.token_bytes(32)

    async def lag() -> list[PartitionLag]:
        return monitor.lag

    return OpsContext(
        actions=operations,
        operators=OperatorDirectory(settings.operators),
        signer=SessionSigner(secret, settings.ops_session_ttl_s),
        channel_of={pid: p.channel for pid, p in settings.partners.items()},
        lag=lag,
        stuck_after_s=settings.stuck_after_s,
    )


def edge_limits(settings: Settings) -> EdgeLimits:
    return from_settings(EdgeLimits, settings)


def partner_app(
    settings: Settings,
    intake: IntakeService,
    nonces: NonceRegistry,
    clock: Callable[[], datetime],
    callbacks: CallbackLog | None = None,
    engine: AsyncEngine | None = None,
    limiter: Limiter | None = None,
    agents: AgentDirectory | None = None,
) -> tuple[FastAPI, list[ChannelAdapter[Any]]]:
    """The partner-facing app: the hub's own JSON API plus every enabled channel.

    With a store ``engine``: also every partner's statement (``/v1/settlements``).
    With ``agents``: the agents of every partner whose channel says its agents sign the
    hub API (``agents_sign_hub_api``) sign it too, each with its own key.
    """
    limiter = limiter or LocalLimiter()
    channels = load_channels(
        settings, intake, nonces, clock, PartnerLimits(limiter, settings.rate_limit)
    )
    # The hub's own JSON API is a channel too: only its partners, and agencies' agents, use it.
    own = {pid: p for pid, p in settings.partners.items() if p.channel == "hub-api"}
    agent_channels = {c.slug for c in channels if c.agents_sign_hub_api}
    agencies = {pid: p for pid, p in settings.partners.items() if p.channel in agent_channels}
    verifier = SignatureVerifier(
        own,
        settings.signature_window_s,
        lambda: clock().timestamp(),
        max_future_s=settings.signature_max_future_s,
        nonces=nonces,
        agents=agents if agencies else None,
        agencies=agencies,
    )
    extra: list[tuple[APIRouter, Gate | None]] = []
    if engine is not None:
        # Statements are fetched by every partner, whatever its channel, signed the hub's way.
        anyone = SignatureVerifier(
            settings.partners,
            settings.signature_window_s,
            lambda: clock().timestamp(),
            max_future_s=settings.signature_max_future_s,
            nonces=nonces,
        )
        extra.append(
            (statement_router(SettlementBook(engine), anyone), HubApiGate(anyone, "settlement"))
        )
    app = create_app(
        intake,
        verifier,
        channels,
        callbacks,
        limiter=limiter,
        limits=edge_limits(settings),
        routers=extra,
    )
    # Partners code from /openapi.json: each channel operation with its page's examples.
    app.openapi = documented_openapi(app, channels, REPO_ROOT / "docs" / "channels")  # type: ignore[method-assign]
    return app, channels


@contextlib.asynccontextmanager
async def kafka(settings: Settings) -> AsyncIterator[tuple[str, Settings]]:
    """Bootstrap servers and the settings to use them with.

    The configured cluster, or a broker spawned for this process: Apache Kafka with its
    data under var/kafka (or ``embedded_broker_dir``) when Java and the jars are here,
    else Tansu, which cannot give an idempotent producer, so the settings say so.
    """
    if not settings.uses_embedded_broker:
        yield settings.kafka_bootstrap_servers, settings
        return
    var = REPO_ROOT / "var"
    var.mkdir(exist_ok=True)
    engine, why = choose_engine(settings.embedded_broker, KAFKA_LIBS)
    if settings.embedded_broker_dir:
        data = Path(settings.embedded_broker_dir)
        # The broker's log is opened in it (Kafka would make it, Tansu keeps no data).
        await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
        log_file = data / f"{engine}.log"
    else:
        data, log_file = var / "kafka", var / f"{engine}.log"
    # The API port is bound only once the broker is up: the broker must not take it.
    broker = embedded_broker(
        engine, data, KAFKA_LIBS, log_file=log_file, avoid_ports=(settings.api_port,)
    )
    log.info(
        "starting an embedded %s broker (%s)", "Apache Kafka" if engine == "kafka" else "Tansu", why
    )
    await broker.start()
    log.info("embedded %s broker on %s", engine, broker.bootstrap_servers)
    if not broker.idempotence:
        settings = settings.model_copy(update={"kafka_enable_idempotence": False})
    try:
        yield broker.bootstrap_servers, settings
    finally:
        await broker.stop()


_PUBLISHER_WAIT_S = 10.0
"""How long start-up waits for the broker before it opens the partners' port anyway."""


async def _connect(hub: Hub, connected: asyncio.Event, stop: asyncio.Event) -> None:
    """Start the publisher, waiting out a broker that is away; then live until ``stop``."""
    if await _when_ready("the broker (publisher)", hub.publisher.start, stop):
        connected.set()
        await stop.wait()


async def _when_ready(what: str, start: Callable[[], Awaitable[None]], stop: asyncio.Event) -> bool:
    """Run ``start`` until it succeeds, waiting out outages; False if stopped first.

    A process started while the store or the broker is away waits for it (logging once
    when it starts waiting and once when it is back) instead of exiting.
    """
    outage = Outage(what, log)
    while not stop.is_set():
        try:
            await start()
        except Exception as exc:
            if not (is_transient(exc) or isinstance(exc, KafkaError)):
                raise
            await sleep_unless_stopped(stop, outage.failed(exc))
            continue
        outage.recovered()
        return True
    return False


def _loop(
    name: str, run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
) -> asyncio.Task[None]:
    return asyncio.create_task(supervised(name, run, stop), name=name)


def _consume(consumer: CoreConsumer) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def run(stop: asyncio.Event) -> None:
        await consumer.start(stop)
        await consumer.run(stop)

    return run


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the hub shuts everything down in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    settings: Settings,
    *,
    api: bool,
    consume: bool,
    host: str,
    port: int,
    on_ready: Callable[[str, int, str], None] | None = None,
    metrics_port: int | None = None,
) -> None:
    """Run the API and/or the core consumer until SIGINT or SIGTERM, then stop cleanly.

    Every process that serves HTTP has /livez, /readyz and /metrics; a consumer-only
    process serves just those on ``metrics_port`` (``hub consume --metrics-port``).
    """
    stop = asyncio.Event()
    measure_gc_pauses()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    refuse_unsafe(settings)
    if not await _when_ready(
        "the membership store (migrations)",
        lambda: upgrade_to_head_async(settings.resolved_database_url),
        stop,
    ):
        return
    async with kafka(settings) as (bootstrap_servers, settings):
        hub = build(settings, bootstrap_servers)
        # The publisher connects in the background. The process waits for it a little, so
        # that a normal start takes no request before the broker can acknowledge it; a
        # broker still away after that does not keep the partners' port closed: until it
        # comes, every request that must publish is answered "try again" (a 503 in the
        # partner's protocol, from ``BrokerUnavailable``) and /readyz says not ready.
        connected = asyncio.Event()
        publisher = asyncio.create_task(_connect(hub, connected, stop), name="publisher")
        waits = [asyncio.create_task(connected.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(
            [publisher, *waits], timeout=_PUBLISHER_WAIT_S, return_when=asyncio.FIRST_COMPLETED
        )
        for wait in waits:
            wait.cancel()
        if stop.is_set() or publisher.done():  # a signal, or an error no retry cures
            # A signal is acted on at once, even in the middle of a connection attempt
            # that a broker which accepts connections but never answers would stretch.
            publisher.cancel()
            await asyncio.wait([publisher])
            if not publisher.cancelled():
                publisher.result()
            await hub.publisher.stop()
            await hub.engine.dispose()
            return
        # Watched with the other loops: an error no retry cures ends the process.
        tasks: list[asyncio.Task[None]] = [publisher]
        consumer = hub.consumer() if consume else None
        server = None
        servers: list[uvicorn.Server] = []
        try:
            if consumer is not None:
                hub.monitor.partitions = consumer.assigned_partitions
                # Every background loop outlives outages of the store and the broker; only
                # a signal stops the process.
                tasks.append(_loop("core-consumer", _consume(consumer), stop))
                # A fresh dispatcher (and HTTP client) whenever the loop has to start again.
                tasks.append(_loop("callbacks", lambda stop: hub.dispatcher().run(stop), stop))
                tasks.append(_loop("re-drive", hub.redriver.run, stop))
                try:
                    # Only with the broker there: otherwise the API opens now, not later.
                    if connected.is_set():
                        await consumer.wait_for_partitions()
                except TimeoutError:
                    log.warning("the core consumer has no partitions yet; it keeps trying")
            await hub.monitor.check_once()
            tasks.append(asyncio.create_task(hub.monitor.run(stop), name="monitor"))
            if api:
                if hub.agents is not None:
                    await hub.agents.start()
                for channel in hub.channels:
                    await channel.start()
                # The partners' server: header timeout and a cap on connections per address.
                partners_http = guarded_protocol(
                    settings.header_timeout_s, settings.max_connections_per_client
                )
                server = await _start_server(
                    hub.app, host, port, tasks, "api", settings.keep_alive_s, partners_http
                )
                servers.append(server)
            elif metrics_port is not None:
                probes = FastAPI(title="BPU Channel Hub: core consumer probes")
                probes.include_router(health_router(hub.monitor))
                servers.append(
                    await _start_server(
                        probes,
                        settings.api_host,
                        metrics_port,
                        tasks,
                        "metrics",
                        settings.keep_alive_s,
                    )
                )
            # Everything start-up made lives until exit: out of the collector's walk.
            settle_heap(settings.collector_thresholds(serves_api=api))
            if on_ready is not None:
                on_ready(host, port, bootstrap_servers)
            waiter = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            for task in done:
                if task is not waiter and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.set()
            publisher.cancel()
            for running in servers:
                running.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in hub.channels:
                await channel.stop()
            if hub.agents is not None:
                await hub.agents.stop()
            # Independent, and each bounded (the broker's by kafka_ack_timeout_s, the
            # store's by 10 s): together they take the longest of them, not the sum.
            closing = [_write_held_acks(hub.ledger), hub.publisher.stop()]
            if consumer is not None:
                closing.append(consumer.stop())
            failures = await asyncio.gather(*closing, return_exceptions=True)
            await hub.engine.dispose()
            for failure in failures:
                if isinstance(failure, BaseException):
                    raise failure


async def _write_held_acks(ledger: SqlRequestLedger | None) -> None:
    """The acknowledgements still held in memory, within 10 s (the store may be away)."""
    if ledger is not None:
        with contextlib.suppress(Exception):  # logged by then
            await asyncio.wait_for(ledger.flush(), 10)


async def _start_server(
    app: FastAPI,
    host: str,
    port: int,
    tasks: list[asyncio.Task[None]],
    name: str,
    keep_alive_s: int,
    http: type[asyncio.Protocol] | str = "auto",
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=http,
        # uvicorn's own handlers would print around structlog, unredacted: use the root's.
        log_config=None,
        # The hub reads no client address or scheme from the request: X-Forwarded-* are
        # not rewritten into it, from loopback or anywhere (uvicorn trusts 127.0.0.1 by
        # default), and the middleware that would do it is not run for every request.
        proxy_headers=False,
        # Answers do not name the server software and its version to whoever asks.
        server_header=False,
        timeout_keep_alive=keep_alive_s,
    )
    server = _QuietServer(config)
    tasks.append(asyncio.create_task(server.serve(), name=name))
    while not server.started and not tasks[-1].done():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return server
