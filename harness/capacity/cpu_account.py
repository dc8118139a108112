"""CPU the rest of the machine took while a step ran: busy time of the whole machine minus this run's.

The load average cannot say it: on a machine of its own, a service at capacity plus the load generator
already keep the run queue at the core count. What a CPU-bound service's capacity depends on is CPU
taken by processes outside the run (another job, a neighbour's test suite), so that is what is kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

# Linux counts guest time inside user and nice already; idle, iowait and steal are not this machine busy.
_NOT_BUSY = ("idle", "iowait", "steal", "guest", "guest_nice")


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, f) for f in times._fields if f not in _NOT_BUSY)


def _tree_cpu_s(roots: Iterable[int]) -> float:
    """CPU seconds of processes and all their descendants, the reaped ones included (they land in
    their parent's children_* times when it waits for them)."""
    seen: set[int] = set()
    total = 0.0
    for pid in roots:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


@dataclass(frozen=True)
class CpuAccount:
    """A reading of CPU seconds so far: the machine's busy time and this run's (loadgate's own process
    tree, which holds the load generator and every part it started, plus the service's)."""

    at: float
    machine_busy_s: float
    run_s: float

    @classmethod
    def now(cls, service_pid: int | None = None) -> CpuAccount:
        roots = [os.getpid(), *([service_pid] if service_pid else [])]
        return cls(at=time.monotonic(), machine_busy_s=_machine_busy_s(), run_s=_tree_cpu_s(roots))

    def other_cores_since(self, before: CpuAccount) -> float | None:
        """Cores (mean over the interval) that processes outside the run kept busy since ``before``."""
        elapsed = self.at - before.at
        if elapsed <= 0:
            return None
        other = (self.machine_busy_s - before.machine_busy_s) - (self.run_s - before.run_s)
        # Per-process times tick a little behind the machine's: a small negative is a quiet machine.
        return max(other, 0.0) / elapsed
