"""What the target is doing while a step runs: requests in flight, CPU and memory; and draining.

Requests in flight come from the target's own in-flight gauge (the profile's
``metrics.in_flight``, ``agent_active_tasks`` on the bundled service) on its metrics endpoint;
CPU and memory from psutil on the service's process tree when loadgate knows its pid (it started
the service), else memory from the profile's memory series and no CPU figure. Between steps the
target must also be back at rest: a circuit breaker (``metrics.breaker``) that an overloaded step
opened would refuse the next step's first seconds, so it is closed first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psutil

from harness.target.client import TargetClient


class ProcessTree:
    """CPU (percent of one core) and RSS (bytes) of a process and its children, e.g. uvicorn workers."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self._seen: dict[int, psutil.Process] = {}

    def _members(self) -> list[psutil.Process]:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []
        # Keep Process objects between calls: cpu_percent() measures since the previous call on it.
        for p in procs:
            self._seen.setdefault(p.pid, p)
        return [self._seen[p.pid] for p in procs]

    def sample(self) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        for p in self._members():
            try:
                cpu += p.cpu_percent(None)
                rss += p.memory_info().rss
            except psutil.Error:
                continue
        return cpu, rss


@dataclass(frozen=True)
class Sample:
    t: float  # unix seconds
    in_flight: float | None
    cpu_percent: float | None
    rss_bytes: int | None


@dataclass
class Observation:
    samples: list[Sample] = field(default_factory=list)

    def window(self, start: float, end: float) -> Observation:
        return Observation([s for s in self.samples if start <= s.t <= end])

    def _values(self, name: str) -> list[float]:
        return [v for s in self.samples if (v := getattr(s, name)) is not None]

    @property
    def mean_in_flight(self) -> float | None:
        values = self._values("in_flight")
        return sum(values) / len(values) if values else None

    @property
    def mean_cpu(self) -> float | None:
        values = self._values("cpu_percent")
        return sum(values) / len(values) if values else None

    @property
    def max_rss(self) -> int | None:
        return int(max(self._values("rss_bytes"), default=0)) or None


class Observer:
    """Samples the target in a background thread between ``start()`` and ``stop()``."""

    def __init__(self, target: TargetClient, service_pid: int | None, interval_s: float = 0.5) -> None:
        self.target = target
        self.interval_s = interval_s
        self._tree = ProcessTree(service_pid) if service_pid else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.observation = Observation()

    def start(self) -> Observer:
        self.observation = Observation()
        self._stop.clear()
        if self._tree:
            self._tree.sample()  # prime cpu_percent
        self._thread = threading.Thread(target=self._run, name="capacity-observer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Observation:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        return self.observation

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.wait(self.interval_s):
                values = self.target.scrape(client)
                cpu, rss = self._tree.sample() if self._tree else (None, None)
                if rss is None and (reported := self.target.rss(values)) is not None:
                    rss = int(reported)
                self.observation.samples.append(Sample(time.time(), self.target.in_flight(values), cpu, rss))


def idle_level(target: TargetClient) -> float:
    """The gauge's reading with no load: 1 on a target whose gauge counts the /metrics request itself
    (the bundled service's middleware does), else 0. Read before any load is sent."""
    with httpx.Client() as client:
        return target.in_flight(target.scrape(client)) or 0.0


def wait_drained(target: TargetClient, *, idle: float = 0.0, timeout_s: float = 60.0,
                 interval_s: float = 0.25, nudge: Callable[[], None] | None = None
                 ) -> tuple[float, bool, str]:
    """Wait until the target's requests in flight are back to ``idle`` and its circuit breaker is
    closed: (waited s, drained, how).

    A breaker leaves "open" only when a call arrives after its reset timeout, so while it reads
    open or half-open ``nudge`` (one request) is sent about once a second until it closes.
    Without the in-flight gauge (a target that does not export it) there is nothing to read: the
    wait is reported as not verified rather than assumed.
    """
    started = time.monotonic()
    nudged = 0
    last_nudge = 0.0
    gauge = target.profile.metrics.in_flight
    name = gauge.name if gauge else "an in-flight gauge (service.metrics.in_flight)"
    with httpx.Client() as client:
        while True:
            values = target.scrape(client)
            waited = time.monotonic() - started
            in_flight = target.in_flight(values)
            if in_flight is None:
                return waited, False, f"target exports no {name}: drain not verified"
            closed = target.breaker_closed(values)
            if in_flight <= idle and closed:
                how = f"{name} = {in_flight:g}"
                return waited, True, how + (f", breaker closed after {nudged} request(s)" if nudged else "")
            if waited >= timeout_s:
                breaker = target.profile.metrics.breaker
                busy = in_flight > idle or breaker is None
                state = f"{name} still {in_flight:g} (idle is {idle:g})" if busy \
                    else f"{breaker.name} still {values[breaker.name]:g}"
                return waited, False, f"{state} after {timeout_s:g} s"
            if in_flight <= idle and nudge is not None and time.monotonic() - last_nudge >= 1.0:
                last_nudge = time.monotonic()
                nudged += 1
                nudge()
            time.sleep(interval_s)
