"""A PostgreSQL instance of the test's own (initdb into a temporary folder, another port).

Case (c) stops the database for 30 s; it must never be the machine's own cluster.
"""

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from hub.broker import free_port


def _bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise RuntimeError(
            "no PostgreSQL server binaries (scripts/ensure-postgres.sh installs them)"
        )
    return versions[-1]


class PrivatePostgres:
    def __init__(self) -> None:
        # Under /tmp itself: the postgres user must be able to reach it, which it cannot
        # inside pytest's root-only temporary folders.
        self.root = Path(tempfile.mkdtemp(prefix="hub-faults-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.log = self.root / "postgres.log"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, *args: str) -> None:
        command = [str(_bin() / args[0]), *args[1:]]
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as the postgres system user.
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {output.decode()[-2000:]}")

    async def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        await self._run(
            "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8"
        )

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        await self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    async def stop(self) -> None:
        await self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    async def remove(self) -> None:
        """Stop it if it runs, and delete its folder."""
        with contextlib.suppress(RuntimeError):
            await self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
