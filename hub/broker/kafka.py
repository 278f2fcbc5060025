"""Apache Kafka as the embedded and test broker: KRaft nodes on loopback, run from Maven jars.

``make install`` copies the broker's jars from Maven Central into ``var/kafka-libs``
(``deploy/kafka/pom.xml``). A node keeps its log under its data folder, formatted on
first start, so a node killed with SIGKILL and started again finds every acknowledged
event. ``nodes=3`` runs a three-node cluster (every node both broker and controller)
on consecutive ports, with replication factor 3 and ``min.insync.replicas`` 2.
"""

import asyncio
import base64
import contextlib
import shutil
import signal
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from hub.broker.process import die_with_parent, free_port, port_answers

_MAIN = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
# C1 only (TieredStopAtLevel=1): an embedded broker lives as long as a laptop session, a
# test run or a benchmark, beside the hub on a machine of two cores. With C2 as well, the
# JIT's compiler threads took most of the broker's CPU (JFR, a 100,000-row upload: 22 of
# 35 units), and until C2 catches up the code runs in the profiling tier, slower than C1's
# own: broker CPU per accepted request over a 60 s ingest, 0.68 ms against 0.32 with C1.
_JVM_OPTIONS = (
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
_LOG4J = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
"""


def kafka_available(libs: Path) -> str | None:
    """None when Apache Kafka can run here; otherwise the reason it cannot."""
    if shutil.which("java") is None:
        return "no Java on this machine (`java` is not on PATH)"
    if not any(libs.glob("kafka_2.13-*.jar")):
        return f"no Kafka jars in {libs} (`make install` fetches them with Maven)"
    return None


@dataclass(frozen=True, slots=True)
class KafkaNode:
    """One KRaft node: a broker listener for clients and a controller listener for the quorum."""

    node_id: int
    host: str
    port: int
    controller_port: int
    data_dir: Path

    def properties(self, voters: str, nodes: int) -> str:
        replicas = min(3, nodes)
        lines = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir / "log"),
            "num.partitions": "1",
            "default.replication.factor": str(replicas),
            "min.insync.replicas": str(2 if nodes >= 3 else 1),
            "offsets.topic.replication.factor": str(replicas),
            # The group offsets topic is made when the first consumer group looks for its
            # coordinator: with Kafka's 50 partitions that took long enough for a retry and
            # a failed join, 0.15-0.35 s of every fresh broker's first consumer (traced).
            # An embedded broker holds a handful of groups.
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(2 if nodes >= 3 else 1),
            # A consumer joins its group at once, and short test sessions are allowed.
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": "1000",
            "unclean.leader.election.enable": "false",
        }
        return "".join(f"{key}={value}\n" for key, value in lines.items())


class ApacheKafka:
    """One or more KRaft nodes of Apache Kafka as child processes, started and stopped together."""

    engine = "kafka"
    idempotence = True

    def __init__(
        self,
        data_dir: Path,
        libs: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        nodes: int = 1,
        log_file: Path | None = None,
        avoid_ports: Collection[int] = (),
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster has at least one node")
        self.host = host
        self._libs = libs
        self._data_dir = data_dir
        self._log_file = log_file
        saved = data_dir / "ports"
        if port is None and saved.exists():
            # Restarted on its data: the same listeners, as a real node keeps its address.
            numbers = [int(n) for n in saved.read_text().split()]
            ports, controller_ports = numbers[:nodes], numbers[nodes:]
        elif port is None:
            chosen: list[int] = []  # two listeners each, all different
            for _ in range(2 * nodes):
                chosen.append(free_port(host, avoid={*avoid_ports, *chosen}))
            ports, controller_ports = chosen[:nodes], chosen[nodes:]
        else:
            ports = list(range(port, port + nodes))
            controller_ports = list(range(port + nodes, port + 2 * nodes))
        self.nodes = [
            KafkaNode(i + 1, host, ports[i], controller_ports[i], data_dir / f"node-{i + 1}")
            for i in range(nodes)
        ]
        self._voters = ",".join(f"{n.node_id}@{host}:{n.controller_port}" for n in self.nodes)
        self._processes: dict[int, asyncio.subprocess.Process] = {}

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{n.host}:{n.port}" for n in self.nodes)

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def pid(self, node_id: int = 1) -> int | None:
        process = self._processes.get(node_id)
        return None if process is None or process.returncode is not None else process.pid

    async def start(self, within_s: float = 90.0) -> None:
        """Format storage on first start, start every node, and wait until clients are served."""
        cluster_id = self._cluster_id()
        for node in self.nodes:
            await self._format(node, cluster_id)
        for node in self.nodes:
            await self.start_node(node.node_id, wait=False)
        await self.wait_ready(within_s)

    async def start_node(self, node_id: int, wait: bool = True, within_s: float = 90.0) -> None:
        """(Re)start one node on its existing data."""
        node = self.nodes[node_id - 1]
        log = self._log_file.open("ab") if self._log_file else asyncio.subprocess.DEVNULL
        try:
            self._processes[node_id] = await asyncio.create_subprocess_exec(
                *self._java(
                    f"-Dlog4j2.configurationFile={node.data_dir / 'log4j2.properties'}",
                    _MAIN,
                    str(node.data_dir / "server.properties"),
                ),
                stdout=log,
                stderr=log,
                # Its own session: Ctrl-C in a terminal must not reach the broker before the
                # hub has stopped its consumer and producer.
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        finally:
            if not isinstance(log, int):
                log.close()
        if wait:
            await self._wait_port(node, within_s)

    async def wait_ready(self, within_s: float = 90.0) -> None:
        """Every node accepts connections and the cluster answers a metadata request."""
        deadline = time.monotonic() + within_s
        for node in self.nodes:
            await self._wait_port(node, deadline - time.monotonic())
        await self._wait_metadata(deadline)

    async def kill(self, node_id: int | None = None) -> None:
        """SIGKILL one node (or all), as a crash would; its data stays on disk."""
        for nid in [node_id] if node_id is not None else [n.node_id for n in self.nodes]:
            process = self._processes.get(nid)
            if process is None or process.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def stop(self) -> None:
        """SIGTERM every node (a controlled shutdown), SIGKILL any that takes over 30 s."""
        running = [p for p in self._processes.values() if p.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()

    def _java(self, *arguments: str) -> list[str]:
        java = shutil.which("java") or "java"
        return [java, *_JVM_OPTIONS, "-cp", f"{self._libs}/*", *arguments]

    def _cluster_id(self) -> str:
        """The cluster's id: made once, kept beside the nodes' data (with the ports)."""
        self._data_dir.mkdir(parents=True, exist_ok=True)
        (self._data_dir / "ports").write_text(
            " ".join(str(n.port) for n in self.nodes)
            + " "
            + " ".join(str(n.controller_port) for n in self.nodes)
        )
        path = self._data_dir / "cluster-id"
        if not path.exists():
            path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
        return path.read_text().strip()

    async def _format(self, node: KafkaNode, cluster_id: str) -> None:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        (node.data_dir / "server.properties").write_text(
            node.properties(self._voters, len(self.nodes))
        )
        (node.data_dir / "log4j2.properties").write_text(_LOG4J)
        if (node.data_dir / "log" / "meta.properties").exists():
            return
        process = await asyncio.create_subprocess_exec(
            *self._java(
                f"-Dlog4j2.configurationFile={node.data_dir / 'log4j2.properties'}",
                _STORAGE_TOOL,
                "format",
                "--ignore-formatted",
                # One argument: a base64 id may start with "-", which argparse would take
                # for an option if it came on its own.
                f"--cluster-id={cluster_id}",
                "-c",
                str(node.data_dir / "server.properties"),
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed: {output.decode()[-2000:]}")

    async def _wait_port(self, node: KafkaNode, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while not await port_answers(node.host, node.port):
            process = self._processes.get(node.node_id)
            if process is not None and process.returncode is not None:
                raise RuntimeError(f"Kafka node {node.node_id} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka node {node.node_id} did not listen on {node.port}")
            await asyncio.sleep(0.1)

    async def _wait_metadata(self, deadline: float) -> None:
        from aiokafka.admin import AIOKafkaAdminClient
        from aiokafka.errors import KafkaError

        while True:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers, request_timeout_ms=5000
            )
            try:
                await admin.start()
                await admin.describe_cluster()
                return
            except (KafkaError, OSError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
            finally:
                with contextlib.suppress(KafkaError, OSError):
                    await admin.close()
