"""All configuration, read once: config/hub.toml, then config/<HUB_ENV>.toml, then HUB_* env vars.

Nothing else in the hub reads the environment; ``hub.bootstrap`` takes a ``Settings``.
"""

import os
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(os.environ.get("HUB_CONFIG_DIR", REPO_ROOT / "config"))
KAFKA_LIBS = REPO_ROOT / "var" / "kafka-libs"
"""Apache Kafka's jars, copied from Maven Central by `make install` (deploy/kafka/pom.xml)."""


class RateLimit(BaseModel):
    """A token bucket: ``per_s`` requests a second on average, ``burst`` at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_s: float = Field(gt=0)
    burst: int = Field(ge=1)


class PartnerSettings(BaseModel):
    """One partner's credentials. The secret signs every request it sends."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr
    previous_secret: SecretStr | None = None
    """While the partner moves to a new ``secret``: the one it signed with until now, still
    accepted (each use counted) until an operator removes it; docs/security.md."""
    channel: str = "hub-api"
    callback_url: str | None = None
    timezone: str = "Asia/Jakarta"
    """The partner's business day and settlement cut-off are kept in this zone."""
    settlement_cutoff: time | None = None
    """Wall-clock time (its zone) from which a payment belongs to the next business day,
    e.g. "23:00"; unset or "00:00": the day ends at midnight."""
    public_key: str | None = None
    """PEM public key, for channels that sign with RSA (SNAP BI's B2B access token)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Channel-specific options (e.g. an ISO 8583 acquirer id), checked against the
    channel's ``partner_options_model`` when the hub starts; see docs/channels/."""
    signature_v1_allowed: bool = True
    """The hub API still takes this partner's version-1 signatures (each use is counted)."""
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    """This partner's own limits, by limit class or operation; see ``Settings.rate_limits``."""

    def signing_secrets(self) -> tuple[str, ...]:
        """The secrets a request of this partner may be signed with: ``secret`` first."""
        current = self.secret.get_secret_value()
        if self.previous_secret is None:
            return (current,)
        return (current, self.previous_secret.get_secret_value())


class OperatorSettings(BaseModel):
    """One operator of the console and the ops API. Only a hash of the password is kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    password_hash: str = Field(pattern=r"^scrypt\$")
    """``hub ops hash-password`` prints one."""


class ScheduleSettings(BaseModel):
    """The BPU contribution schedule; every number of it lives in config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jkk_rate_bp: int = Field(gt=0)
    jkm_flat: int = Field(gt=0)
    jht_rate_bp: int = Field(gt=0)
    allowed_months: tuple[int, ...]
    income_brackets: tuple[int, ...] = Field(min_length=1)
    max_months_ahead: int = Field(12, ge=1)


class MembershipSettings(BaseModel):
    """Arrears, lapse and the coverage calendar (docs/membership.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_arrears_months: int = Field(3, ge=0)
    """Most unpaid past months a payment collects before the months asked for."""
    lapse_after_months: int = Field(3, ge=1)
    """More than this many consecutive unpaid (overdue) months end the membership period."""
    after_lapse: Literal["new_period", "continue"] = "new_period"
    """What a later payment or registration does after a lapse."""
    coverage_timezone: str = "Asia/Jakarta"
    """Month edges and due dates of every member, whatever the NIK's province."""
    cuti_bersama: tuple[date, ...] = ()
    """Collective leave days (the government's decree): due dates roll past them too."""

    @model_validator(mode="after")
    def _arrears_within_lapse(self) -> Self:
        if self.max_arrears_months > self.lapse_after_months:
            raise ValueError("max_arrears_months may not exceed lapse_after_months")
        ZoneInfo(self.coverage_timezone)
        return self


class Settings(BaseSettings):
    """The hub's settings; see config/hub.toml for what each one means."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="forbid", frozen=True)

    env: str = "dev"

    kafka_bootstrap_servers: str = ""
    embedded_broker: Literal["auto", "kafka", "tansu"] = "auto"
    """Without bootstrap servers, `hub run` spawns this: auto = Apache Kafka if Java is here."""
    embedded_broker_dir: str = ""
    """Where the embedded Apache Kafka keeps its data and log; empty = var/kafka. Two hubs
    on one checkout (a test next to `make run`) each need their own."""
    kafka_member_events_topic: str = "bpu.member-events.v1"
    kafka_dead_letter_topic: str = "bpu.member-events.dlq.v1"
    kafka_partitions: int = Field(12, ge=1)
    kafka_replication_factor: int = Field(1, ge=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    kafka_enable_idempotence: bool = False
    kafka_linger_ms: int = Field(0, ge=0)
    kafka_producer_batch_bytes: int = Field(262_144, ge=16_384, le=1_048_576)
    """Largest record batch the producer builds for one partition (aiokafka's 16 KiB by
    default): a batch upload's events go in batches of this size."""
    kafka_ack_timeout_s: float = Field(5.0, gt=0)
    kafka_consumer_group: str = "bpu-core-consumer"
    kafka_consumer_max_batch: int = Field(4000, ge=1)
    """Most events in one of the core consumer's batches (one transaction, one offset
    commit). A backlog of 100,000 registrations drained at 24,100 events/s with 4,000
    against 22,400 with 2,000 and 19,600 with 1,000; 3,000 and 8,000 did no better than
    4,000 (alternated runs of ``benchmarks.drain``). A live flow's batches are smaller:
    what arrived within ``kafka_consumer_fetch_wait_ms``."""
    kafka_consumer_poll_ms: int = Field(200, ge=1)
    kafka_consumer_transactions: int = Field(3, ge=1)
    """Batches the core consumer applies at once, each in its own transaction, when they
    hold different partitions (PostgreSQL only): one runs in the database while the
    consumer prepares another."""
    kafka_consumer_session_timeout_ms: int = Field(10_000, ge=500)
    kafka_consumer_fetch_min_bytes: int = Field(65_536, ge=1)
    kafka_consumer_fetch_wait_ms: int = Field(50, ge=0)
    """The broker answers a fetch once it has ``fetch_min_bytes`` or after this long: fewer,
    larger batches (one transaction and one offset commit each) for at most this much
    more time from acknowledgement to ``recorded``. A backlog is fetched at once."""

    readiness_check_every_s: float = Field(2.0, gt=0)
    """How often /readyz's sub-checks (store, broker, partitions) run, in the background."""
    readiness_timeout_s: float = Field(2.0, gt=0)
    """Each sub-check's bound: a store or broker that cannot answer within it is not ready."""
    readiness_stale_after_s: float = Field(15.0, gt=0)
    """A check result older than this no longer counts as ready: the monitor itself is stuck."""
    gauges_every_s: float = Field(10.0, gt=0)
    """How often consumer lag and the store's gauges (unrecorded, callbacks) are refreshed."""

    redrive_after_s: float = Field(60.0, gt=0)
    """An accepted request unrecorded for this long has its stored event published again."""
    redrive_poll_s: float = Field(5.0, gt=0)
    redrive_batch: int = Field(500, ge=1)

    database_url: str = ""
    database_pool_size: int = Field(10, ge=1)

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=0, le=65535)
    signature_window_s: int = Field(300, gt=0)
    agent_refresh_s: float = Field(5.0, gt=0)
    """How often each API process re-reads the agents of agency partners (``hub agents``):
    a new agent's key is taken within this time; a revoked one is refused at once."""
    signature_max_future_s: int = Field(30, ge=0)
    """A signed timestamp further than this ahead of the hub's clock is refused."""

    json_body_max_bytes: int = Field(65_536, ge=1024)
    """Largest body of a JSON route; a longer one is cut off with 413 while it is read."""
    header_timeout_s: float = Field(10.0, gt=0)
    """A client must send its request line and headers within this (from its first byte)."""
    keep_alive_s: int = Field(5, ge=1)
    """How long an HTTP connection may stay idle between requests before the hub closes it
    (uvicorn's ``timeout_keep_alive``). Behind a load balancer or proxy that keeps its
    connections to the hub open longer, set it above that idle timeout: otherwise the hub
    may close a connection just as the balancer sends a request on it (a 502 for the partner)."""
    body_timeout_s: float = Field(30.0, gt=0)
    """A client must send a JSON body within this, once its headers are in."""
    upload_timeout_s: float = Field(900.0, gt=0)
    """A client must send an uploaded file within this, once its headers are in."""
    other_body_max_bytes: int = Field(67_108_864, ge=1024)
    """Largest body of the other routes (operators' /ops API: settlement files)."""
    max_connections_per_client: int = Field(256, ge=1)
    """Open connections one client address may hold; more are closed at once."""

    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    """Per partner and operation: ``default``, ``inquiry``, ``inquiry_by_nik``, ``upload``."""
    rate_limit_store: Literal["auto", "postgresql", "local"] = "auto"
    """Where buckets live: PostgreSQL (shared by API processes) or this process."""
    harvest_window_s: int = Field(3600, gt=0)
    harvest_unpaid_niks: int = Field(200, ge=1)
    """A partner inquiring this many distinct NIKs it did not pay within the window is flagged."""

    partners: dict[str, PartnerSettings] = Field(default_factory=dict)
    schedule: ScheduleSettings
    membership: MembershipSettings = Field(default_factory=MembershipSettings)
    payment_code_prefix: str = Field("8866", pattern=r"^[0-9]{1,8}$")

    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Partner channels to mount, by slug (``adapters/<slug>.py``), with their options."""

    callback_timeout_s: float = Field(10.0, gt=0)
    callback_initial_backoff_s: float = Field(30.0, gt=0)
    callback_max_backoff_s: float = Field(3600.0, gt=0)
    callback_give_up_after_s: float = Field(86_400.0, gt=0)
    callback_concurrency: int = Field(32, ge=1)
    callback_poll_s: float = Field(1.0, gt=0)

    reconciliation_output_dir: str = ""
    """Where runs write summary.json, exceptions.csv, report.html; empty = var/reconciliation."""
    reconciliation_time_tolerance_s: int = Field(900, ge=0)
    """Lines without a reference match a hub payment of the same member and amount this close."""

    @property
    def reconciliation_root(self) -> Path:
        return Path(self.reconciliation_output_dir or REPO_ROOT / "var" / "reconciliation")

    log_format: Literal["json", "console"] | None = None
    """None: JSON lines under production, readable console lines elsewhere."""
    log_level: str = "INFO"
    gc_thresholds: tuple[
        Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]
    ] = (50_000, 20, 100)
    """The cyclic garbage collector's thresholds (``gc.set_threshold``) once a process that
    serves the API is ready (``hub.observability.heap``); CPython's own are (700, 10, 10)."""
    consumer_gc_thresholds: tuple[
        Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]
    ] = (1_000_000, 20, 100)
    """The same, for a process that only consumes (``hub consume``). Its live objects are
    the batches in their transactions, freed as a whole when each commits: young
    collections every 50,000 allocations walked them about once a batch, a tenth of a
    drain's time, for the few cyclic objects they found. No partner waits on its pauses."""

    def collector_thresholds(self, *, serves_api: bool) -> tuple[int, int, int]:
        """The collector's thresholds for a process that serves the API or only consumes."""
        return self.gc_thresholds if serves_api else self.consumer_gc_thresholds

    operators: dict[str, OperatorSettings] = Field(default_factory=dict)
    """Who may sign in to the console (/ops/) and call /ops/v1, by name."""
    ops_session_secret: SecretStr = SecretStr("")
    """Signs console sessions; empty: a random one per process (sign in again on restart)."""
    ops_session_ttl_s: int = Field(8 * 3600, gt=0)
    stuck_after_s: float = Field(600.0, gt=0)
    """An accepted request not recorded after this long is stuck (``hub requests stuck``)."""

    @property
    def resolved_log_format(self) -> Literal["json", "console"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.env == "production" else "console"

    def rate_limit(self, partner_id: str, operation: str, limit_class: str) -> RateLimit:
        """The bucket of one partner's operation: its own, else its class's, else the default."""
        own = self.partners[partner_id].rate_limits if partner_id in self.partners else {}
        for name in (operation, limit_class):
            if name in own:
                return own[name]
        for name in (operation, limit_class, "default"):
            if name in self.rate_limits:
                return self.rate_limits[name]
        return RateLimit(per_s=100, burst=200)

    @property
    def uses_embedded_broker(self) -> bool:
        """No bootstrap servers configured: `hub run` brings its own broker."""
        return not self.kafka_bootstrap_servers.strip()

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or SQLite under var/ for the embedded default."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'hub.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_name = os.environ.get("HUB_ENV", "dev")
        files = [CONFIG_DIR / "hub.toml", CONFIG_DIR / f"{env_name}.toml"]
        toml = TomlConfigSettingsSource(
            settings_cls, toml_file=[f for f in files if f.exists()], deep_merge=True
        )
        return (init_settings, env_settings, toml)


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; keyword overrides win over files and environment."""
    return Settings(**overrides)  # type: ignore[arg-type]
