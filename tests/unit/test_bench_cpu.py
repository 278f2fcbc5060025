"""The benchmarks' CPU figures: a process's use is what it used between two snapshots."""

from pytest import approx

from benchmarks._procs import CpuSnapshot, cpu_seconds, cpu_usage


def _snapshot(
    at: float, processes: dict[int, tuple[str, float, int]], busy_s: float
) -> CpuSnapshot:
    """A snapshot of ``processes`` (pid: name, CPU seconds so far, start time in ticks)."""
    return CpuSnapshot(
        at,
        {pid: (name, used) for pid, (name, used, _) in processes.items()},
        machine_busy_s=busy_s,
        machine_total_s=2 * at,
        started={pid: start for pid, (_, _, start) in processes.items()},
    )


def test_a_kernel_worker_that_renamed_itself_is_counted_for_the_window_only() -> None:
    before = _snapshot(100.0, {41: ("kworker/0:2-events", 2.33, 500)}, busy_s=50.0)
    after = _snapshot(103.0, {41: ("kworker/0:2-mm_percpu_wq", 2.36, 500)}, busy_s=50.06)

    assert cpu_seconds(before, after, {41}) == approx(0.03)
    # 0.03 s in 3 s is 0.01 of a core: under the table's 0.02, so no row of its own.
    # Counted as a new process, its 2.36 s of life showed as 0.79 of a core.
    [(machine, busy)] = cpu_usage(before, after, {})
    assert (machine, busy) == ("machine busy (of 2.0 cores)", approx(0.02))


def test_a_pid_taken_by_a_new_process_is_counted_from_its_start() -> None:
    before = _snapshot(100.0, {77: ("postgres", 40.0, 300)}, busy_s=50.0)
    after = _snapshot(102.0, {77: ("postgres", 1.5, 10_150)}, busy_s=51.5)

    assert cpu_seconds(before, after, {77}) == 1.5
    usage = dict(cpu_usage(before, after, {77: "the hub's store"}))
    assert usage == {"the hub's store": 0.75, "machine busy (of 2.0 cores)": 0.75}


def test_a_process_alive_in_both_snapshots_is_counted_by_its_difference() -> None:
    before = _snapshot(10.0, {9: ("python", 4.0, 120), 10: ("java", 7.0, 130)}, busy_s=5.0)
    after = _snapshot(14.0, {9: ("python", 6.0, 120), 10: ("java", 7.4, 130)}, busy_s=7.4)

    assert cpu_seconds(before, after, {9, 10}) == approx(2.4)
    assert cpu_usage(before, after, {9: "hub api (python)"}) == [
        ("hub api (python)", 0.5),
        ("java", approx(0.1)),
        ("machine busy (of 2.0 cores)", approx(0.6)),
    ]
