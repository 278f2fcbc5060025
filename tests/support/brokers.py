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


def hub_env_on(broker: Broker, database_url: str, name: str) -> dict[str, str]:
    """A hub process on ``broker`` (as production would use it) and ``database_url``, with
    topics and a consumer group of its own, named after ``name``."""
    return {
        **broker_env(broker),
        "HUB_DATABASE_URL": database_url,
        "HUB_KAFKA_MEMBER_EVENTS_TOPIC": f"{name}-member-events",
        "HUB_KAFKA_DEAD_LETTER_TOPIC": f"{name}-member-events-dlq",
        "HUB_KAFKA_CONSUMER_GROUP": f"{name}-core",
    }


def keeps_data(broker: Broker) -> bool:
    """Whether ``broker`` still has its log after a restart (Tansu keeps it in memory)."""
    return not isinstance(broker, TansuBroker)


def in_place(broker: Broker, data_dir: Path) -> Broker:
    """A new broker where ``broker`` was: same port, and for Kafka the same data on disk."""
    if isinstance(broker, TansuBroker):
        return TansuBroker(port=broker.port)
    return new_broker(data_dir)


class OwnBroker:
    """A broker of one test alone, which the test stops and starts again in place."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self.broker = new_broker(data_dir)

    async def restart_in_place(self) -> None:
        """Start a broker where the stopped one was (``in_place``)."""
        self.broker = in_place(self.broker, self._data_dir)
        await self.broker.start()
