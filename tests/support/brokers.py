"""The brokers tests run on: Apache Kafka by default, Tansu with HUB_TEST_BROKER=tansu."""

import os
from pathlib import Path

from hub.broker import ApacheKafka, Broker, TansuBroker, kafka_available
from hub.settings import KAFKA_LIBS

TEST_BROKER = os.environ.get("HUB_TEST_BROKER", "kafka")


def new_broker(data_dir: Path, port: int | None = None) -> Broker:
    """A broker of the session's engine on loopback; Kafka keeps its data in ``data_dir``."""
    if TEST_BROKER == "tansu":
        return TansuBroker(port=port)
    missing = kafka_available(KAFKA_LIBS)
    if missing is not None:
        raise RuntimeError(f"the tests run on Apache Kafka, but {missing}")
    return ApacheKafka(data_dir, KAFKA_LIBS, port=port, log_file=data_dir / "kafka.log")


def broker_env(broker: Broker) -> dict[str, str]:
    """What a hub process needs to use ``broker`` as production would."""
    return {
        "HUB_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "HUB_KAFKA_ENABLE_IDEMPOTENCE": "true" if broker.idempotence else "false",
    }


def in_place(broker: Broker, data_dir: Path) -> Broker:
    """A new broker where ``broker`` was: same port, and for Kafka the same data on disk."""
    if isinstance(broker, TansuBroker):
        return TansuBroker(port=broker.port)
    return new_broker(data_dir)
