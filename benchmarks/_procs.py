"""Child processes of a benchmark: started in their own process group, always ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


class ServerFailed(RuntimeError):
    pass


class Server:
    """A server process (and whatever it spawns, e.g. Tansu), in a process group of its own."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = dict(env)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self, health_url: str, within_s: float) -> float:
        """Start and wait for ``health_url`` to answer 200; return the seconds it took."""
        started = time.perf_counter()
        self._process = self._spawn()
        deadline = started + within_s
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise ServerFailed(f"{self.name} exited with {self._process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(health_url)).status_code == 200:
                        return time.perf_counter() - started
                if time.perf_counter() > deadline:
                    raise ServerFailed(f"{self.name} not healthy within {within_s:.0f} s")
                await asyncio.sleep(0.1)

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                self._argv,
                env=self._env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM, wait for a clean shutdown, then SIGKILL the whole group if anything is left."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(process.wait, grace_s)
        # The group id is the leader's pid (start_new_session): its children share it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            await asyncio.to_thread(process.wait)
        self._process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass(frozen=True, slots=True)
class Profile:
    """Where a process spent its sampled (busy) time."""

    samples: int
    expected_samples: int
    self_time: list[tuple[str, int]]
    by_package: list[tuple[str, int]]
    project_inclusive: list[tuple[str, int]]


PROJECT_PACKAGES = ("hub", "schemas", "adapters", "benchmarks")


class PySpy:
    """py-spy sampling a process from ``start()`` until ``stop()`` (raw collapsed stacks)."""

    def __init__(self, pid: int, out: Path, rate: int = 100) -> None:
        self._pid = pid
        self._out = out
        self._rate = rate
        self._process: asyncio.subprocess.Process | None = None
        self._started = 0.0

    async def start(self) -> bool:
        py_spy = VENV_BIN / "py-spy"
        if not py_spy.exists():
            print(f"(no profile: {py_spy} is missing; .venv/bin/pip install py-spy)")
            return False
        self._process = await asyncio.create_subprocess_exec(
            str(py_spy),
            "record",
            "--pid",
            str(self._pid),
            "--rate",
            str(self._rate),
            "--format",
            "raw",
            "--function",
            "--nonblocking",
            "--output",
            str(self._out),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self._started = time.perf_counter()
        return True

    async def stop(self) -> Profile | None:
        """Stop sampling (py-spy writes its output on SIGINT) and summarise."""
        process = self._process
        if process is None:
            return None
        self._process = None
        elapsed = time.perf_counter() - self._started
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            _, err = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None
        profile = summarise(self._out, int(elapsed * self._rate))
        if profile is None:
            print(f"(py-spy failed: {err.decode(errors='replace').strip()[-300:]})")
        return profile


def summarise(raw: Path, expected_samples: int, top: int = 15) -> Profile | None:
    """Self time per frame and per package, and inclusive time of the project's own frames."""
    try:
        text = raw.read_text()
    except OSError:
        return None
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    project: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if _package(frame) in PROJECT_PACKAGES:
                project[frame] += count
    return Profile(
        total,
        expected_samples,
        own.most_common(top),
        packages.most_common(10),
        project.most_common(top),
    )


def _package(frame: str) -> str:
    """``f (sqlalchemy/engine/base.py:12)`` -> ``sqlalchemy``; ``<module> (hub:1)`` -> ``hub``."""
    where = frame.rpartition(" (")[2].rstrip(")")
    return where.split("/", 1)[0].split(":", 1)[0].removesuffix(".py")


def print_profile(title: str, profile: Profile) -> None:
    busy = profile.samples / max(profile.expected_samples, 1)
    share = max(profile.samples, 1)
    print()
    print(f"{title}: {profile.samples} busy samples of ~{profile.expected_samples} ({busy:.0%})")
    print("  self time by package (share of busy samples)")
    for name, count in profile.by_package:
        print(f"    {count / share:6.1%}  {name}")
    print("  self time by function")
    for frame, count in profile.self_time:
        print(f"    {count / share:6.1%}  {frame}")
    print("  inclusive time of the project's own functions")
    for frame, count in profile.project_inclusive:
        print(f"    {count / share:6.1%}  {frame}")


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds used so far by every process, and by the whole machine (busy, total)."""

    at: float
    processes: dict[int, tuple[str, float]]
    machine_busy_s: float
    machine_total_s: float
    parents: dict[int, int] = field(default_factory=dict)
    """Each process's parent pid."""
    started: dict[int, int] = field(default_factory=dict)
    """Each process's start time, in clock ticks since boot: with its pid, what tells one
    process from another (its name cannot, see ``_used_before``)."""


def cpu_snapshot() -> CpuSnapshot:
    processes: dict[int, tuple[str, float]] = {}
    parents: dict[int, int] = {}
    started: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[11], fields[12], fields[19]: utime, stime and starttime (the 14th, 15th
        # and 22nd fields of stat)
        processes[int(entry)] = (comm, (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS)
        parents[int(entry)] = int(fields[1])
        started[int(entry)] = int(fields[19])
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    total = sum(cpu[:8])
    return CpuSnapshot(
        time.perf_counter(),
        processes,
        (total - idle) / _CLOCK_TICKS,
        total / _CLOCK_TICKS,
        parents,
        started,
    )


def descendants(snapshot: CpuSnapshot, root: int) -> set[int]:
    """``root`` and every process below it (a hub and the broker it spawned)."""
    children: dict[int, list[int]] = {}
    for pid, parent in snapshot.parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def cpu_seconds(before: CpuSnapshot, after: CpuSnapshot, pids: set[int]) -> float:
    """CPU seconds the processes ``pids`` used between two snapshots (born ones: all of it)."""
    used = 0.0
    for pid in pids:
        now = after.processes.get(pid)
        if now is None:
            continue  # exited in between: its last ticks are lost (rare; backends persist)
        used += now[1] - _used_before(before, after, pid)
    return used


def _used_before(before: CpuSnapshot, after: CpuSnapshot, pid: int) -> float:
    """CPU seconds ``pid`` had used at ``before``; 0 if it is a process born since.

    A pid names the same process in both snapshots when its start time is the same. Its
    name cannot tell: a kernel worker renames itself for each job it takes
    (``kworker/0:2-events``, then ``kworker/0:2-mm_percpu_wq``), and told apart by name,
    a worker up for hours had its whole life counted in a few seconds: 0.78 of a core on
    a machine 0.02 of 2 cores busy (2026-12-06).
    """
    then = before.processes.get(pid)
    if then is None or before.started.get(pid) != after.started.get(pid):
        return 0.0
    return then[1]


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (it is shared: say how busy it was)."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_usage(
    before: CpuSnapshot, after: CpuSnapshot, named: Mapping[int, str]
) -> list[tuple[str, float]]:
    """Cores used between two snapshots: by the ``named`` pids, by command name, and in all.

    Processes not named are grouped by their command (``postgres``, ``tansu``, ``wrk``...).
    """
    elapsed = after.at - before.at
    used: dict[str, float] = {}
    for pid, (comm, seconds) in after.processes.items():
        delta = seconds - _used_before(before, after, pid)
        if delta > 0:
            name = named.get(pid, comm)
            used[name] = used.get(name, 0.0) + delta / elapsed
    machine_cores = (after.machine_total_s - before.machine_total_s) / elapsed
    busy = (after.machine_busy_s - before.machine_busy_s) / elapsed
    rows = sorted(((n, c) for n, c in used.items() if c >= 0.02), key=lambda nc: -nc[1])
    rows.append((f"machine busy (of {machine_cores:.1f} cores)", busy))
    return rows


def _hub_event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop the hub's processes run on (``hub.cli.main``): uvloop when installed.

    A benchmark that runs hub code in its own process (the drain's core consumer, the
    baselines' asyncpg COPY) runs it on the loop production runs it on."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - e.g. on Windows
        return None
    return uvloop.new_event_loop


def run_benchmark(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """``asyncio.run(main())`` on the hub's event loop, where SIGINT and SIGTERM cancel it
    so that cleanup still runs.

    Every ``finally`` of the benchmark (servers stopped, databases dropped) gets to run
    whether the run ends, fails, or is interrupted; a plain SIGTERM would skip them.
    """

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        return await main()

    try:
        with asyncio.Runner(loop_factory=_hub_event_loop()) as runner:
            return runner.run(guarded())
    except asyncio.CancelledError:
        print("interrupted: servers stopped, databases dropped", file=sys.stderr)
        return 130
