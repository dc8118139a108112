"""CPU the rest of the machine took while a step ran: busy time of the whole machine minus this run's;
and CPU time the hypervisor gave to other guests (steal), from the same readings.

The load average cannot say it: on a machine of its own, a service at capacity plus the load generator
already keep the run queue at the core count. What a CPU-bound service's capacity depends on is CPU
taken by processes outside the run (another job, a neighbour's test suite), so that is what is kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psutil

# Linux counts guest time inside user and nice already.
_GUEST = ("guest", "guest_nice")
# Not this machine busy: idle, waiting for disk, or given to other guests.
_NOT_BUSY = ("idle", "iowait", "steal", *_GUEST)


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
    """A reading of CPU seconds so far: the machine's (``psutil.cpu_times()``) and this run's (loadgate's
    own process tree, which holds the load generator and every part it started, plus the service's)."""

    at: float
    machine: Any
    run_s: float

    @classmethod
    def now(cls, service_pid: int | None = None) -> CpuAccount:
        roots = [os.getpid(), *([service_pid] if service_pid else [])]
        return cls(at=time.monotonic(), machine=psutil.cpu_times(), run_s=_tree_cpu_s(roots))

    @property
    def machine_busy_s(self) -> float:
        return sum(getattr(self.machine, f) for f in self.machine._fields if f not in _NOT_BUSY)

    def other_cores_since(self, before: CpuAccount) -> float | None:
        """Cores (mean over the interval) that processes outside the run kept busy since ``before``."""
        elapsed = self.at - before.at
        if elapsed <= 0:
            return None
        other = (self.machine_busy_s - before.machine_busy_s) - (self.run_s - before.run_s)
        # Per-process times tick a little behind the machine's: a small negative is a quiet machine.
        return max(other, 0.0) / elapsed

    def steal_percent_since(self, before: CpuAccount) -> float | None:
        """CPU time the hypervisor gave to other guests since ``before``, in percent of all CPU time: a
        busier host slows a CPU-bound service between one run and the next. None where the platform does
        not account steal."""
        if not hasattr(before.machine, "steal"):
            return None
        fields = [f for f in before.machine._fields if f not in _GUEST]
        total = sum(getattr(self.machine, f) - getattr(before.machine, f) for f in fields)
        return 100 * (self.machine.steal - before.machine.steal) / total if total > 0 else None
