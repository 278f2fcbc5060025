"""Brokers the hub can run itself: Apache Kafka (from Maven jars) or Tansu (from a wheel).

Production points ``HUB_KAFKA_BOOTSTRAP_SERVERS`` at a real cluster. Without one,
``hub run`` spawns Apache Kafka whenever Java and the jars are present, and Tansu
(memory only, no idempotent producer) otherwise; ``HUB_EMBEDDED_BROKER`` forces one.
"""

from collections.abc import Collection
from pathlib import Path
from typing import Literal, Protocol

from hub.broker.kafka import ApacheKafka, kafka_available
from hub.broker.process import free_port
from hub.broker.tansu import TansuBroker, tansu_command

EmbeddedBroker = TansuBroker
"""The Tansu broker (its earlier name)."""

Engine = Literal["kafka", "tansu"]


class Broker(Protocol):
    """What the hub and the tests use of a broker they started."""

    engine: str
    idempotence: bool

    @property
    def bootstrap_servers(self) -> str: ...

    async def start(self, within_s: float = ...) -> None: ...

    async def stop(self) -> None: ...

    async def kill(self) -> None: ...


def choose_engine(wanted: Literal["auto", "kafka", "tansu"], libs: Path) -> tuple[Engine, str]:
    """The engine to spawn, and why: Apache Kafka when it can run here, unless told otherwise."""
    if wanted == "tansu":
        return "tansu", "HUB_EMBEDDED_BROKER=tansu"
    missing = kafka_available(libs)
    if wanted == "kafka":
        if missing is not None:
            raise RuntimeError(f"HUB_EMBEDDED_BROKER=kafka, but {missing}")
        return "kafka", "HUB_EMBEDDED_BROKER=kafka"
    if missing is None:
        return "kafka", "Java and the Kafka jars are present"
    return "tansu", f"falling back to Tansu: {missing}"


def embedded_broker(
    engine: Engine,
    data_dir: Path,
    libs: Path,
    port: int | None = None,
    log_file: Path | None = None,
    avoid_ports: Collection[int] = (),
) -> Broker:
    """A broker of the given engine on loopback (Kafka keeps its data under ``data_dir``),
    on none of ``avoid_ports`` (the hub's own, bound only once the broker is up)."""
    if engine == "kafka":
        return ApacheKafka(data_dir, libs, port=port, log_file=log_file, avoid_ports=avoid_ports)
    return TansuBroker(port=port, log_file=log_file, avoid_ports=avoid_ports)


__all__ = [
    "ApacheKafka",
    "Broker",
    "EmbeddedBroker",
    "Engine",
    "TansuBroker",
    "choose_engine",
    "embedded_broker",
    "free_port",
    "kafka_available",
    "tansu_command",
]
