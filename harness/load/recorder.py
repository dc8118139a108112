"""The master's side of the measurement: every request row from every worker lands here once.

Writes the raw request log (``harness.schemas.requests``), feeds the per-phase HdrHistograms and
the exporter, keeps a sliding window for the live line and the stop conditions, and writes
``live.jsonl`` (one sample a second) and, at the end, ``stats.json`` and ``generator.json`` for the
runner. No Locust import: it is fed ``RequestRow``s, so it is tested without a load test.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.load.exporter import Exporter
from harness.load.plan import LoadPlan
from harness.load.session_stats import SessionAccumulator
from harness.load.stats import PhaseAccumulator, new_histogram, record, spectrum
from harness.schemas.files import write_atomic
from harness.schemas.outcome import RequestOutcome
from harness.schemas.requests import REQUEST_LOG, RequestLogWriter, RequestRow
from harness.schemas.timeline import ScenarioStats

LIVE_FILE = "live.jsonl"
RESULT_FILE = "generator.json"
STOP_FILE = "stop"  # written by the runner: the master ends the plan early at its next tick


class Recorder:
    def __init__(self, plan: LoadPlan, out_dir: Path, exporter: Exporter | None = None) -> None:
        self.plan = plan
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.exporter = exporter
        self._log = RequestLogWriter(self.out / REQUEST_LOG)
        self._live_file = open(self.out / LIVE_FILE, "w", encoding="utf-8")  # noqa: SIM115
        self.phases: dict[str, PhaseAccumulator] = {}
        self.overall = new_histogram()
        self.window: deque[tuple[float, float, bool]] = deque()  # (end, latency, failed)
        self.workers: dict[str, dict[str, float]] = {}
        self.total = 0
        self.errors = 0
        self.dropped = 0
        self.fault_events: list[dict[str, Any]] = []
        self.sessions = SessionAccumulator()

    def _phase(self, phase: str) -> PhaseAccumulator:
        if phase not in self.phases:
            self.phases[phase] = PhaseAccumulator(phase, late_s=self.plan.late_ms / 1000)
        return self.phases[phase]

    def add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Rows as the workers send them: ``RequestRow``s, which travel as plain lists."""
        late_s = self.plan.late_ms / 1000
        for row in map(RequestRow._make, rows):
            outcome = RequestOutcome(row.outcome)  # a plain string once it crossed from a worker
            self._log.write(row)
            self._phase(row.phase).add(
                intended=row.intended_start,
                start=row.start,
                end=row.end,
                status=row.status,
                outcome=outcome,
                cached=row.cached,
                degraded=row.degraded,
                ttft=row.ttft,
                itl=row.itl,
            )
            record(self.overall, row.latency)
            failed = outcome == RequestOutcome.error
            if row.session:
                self.sessions.add(session=row.session, turn=row.turn or 1, planned=row.turns or 1,
                                  intended=row.intended_start, end=row.end, failed=failed, tools=row.tools,
                                  cancelled=row.cancelled)
            self.total += 1
            self.errors += failed
            self.window.append((row.end, row.latency, failed))
            if self.exporter:
                self.exporter.request(row.phase, row.endpoint, row.status, row.latency, row.ttft,
                                      row.start - row.intended_start > late_s)

    def add_dropped(self, dropped: dict[str, int]) -> None:
        for phase, n in dropped.items():
            self._phase(phase).dropped += n
            self.dropped += n
            if self.exporter:
                self.exporter.drop(phase, n)

    def worker_state(self, worker: str, users: int, in_flight: int, cpu: float) -> None:
        self.workers[worker] = {"users": users, "in_flight": in_flight, "cpu": cpu}

    @property
    def users(self) -> int:
        return int(sum(w["users"] for w in self.workers.values()))

    @property
    def in_flight(self) -> int:
        return int(sum(w["in_flight"] for w in self.workers.values()))

    def sample(self, now: float, master_cpu: float) -> dict[str, Any]:
        """One live sample: also the moment per-phase user and CPU maxima are taken."""
        while self.window and self.window[0][0] < now - self.plan.stop_window_s:
            self.window.popleft()
        _, phase = self.plan.phase_at(now)
        cpu = max([master_cpu, *(w["cpu"] for w in self.workers.values())])
        if phase is not None:
            acc = self._phase(phase.name)
            acc.max_users = max(acc.max_users, self.users)
            acc.cpu_max = max(acc.cpu_max or 0.0, cpu)
        if self.exporter:
            self.exporter.gauges(
                self.users, self.in_flight, phase.name if phase else None, phase.rate_rps if phase else None
            )
        recent = [w for w in self.window if w[0] >= now - 5]
        lat = sorted(w[1] for w in self.window)
        out = {
            "t": now,
            "phase": phase.name if phase else None,
            "elapsed": now - self.plan.t0 if self.plan.t0 else 0.0,
            "total_s": self.plan.total_s,
            "rps": len(recent) / 5.0,
            "requests": self.total,
            "errors": self.errors,
            "dropped": self.dropped,
            "users": self.users,
            "in_flight": self.in_flight,
            "cpu_max": cpu,
            "window_n": len(lat),
            "window_p99": lat[max(math.ceil(0.99 * len(lat)) - 1, 0)] if lat else None,
            "window_error_rate": (sum(w[2] for w in self.window) / len(lat)) if lat else None,
        }
        self._live_file.write(json.dumps(out) + "\n")
        self._live_file.flush()
        return out

    def finish(self, ended: float) -> None:
        """Write stats.json and generator.json; the request log is closed."""
        self._log.close()
        self._live_file.close()
        stats = []
        for spec, start, end in self.plan.phase_bounds():
            acc = self.phases.get(spec.name) or PhaseAccumulator(spec.name, self.plan.late_ms / 1000)
            stats.append(acc.to_stats(start, min(end, ended), spec.rate_rps))
        sessions = self.sessions.to_stats() if self.plan.session is not None else None
        ScenarioStats(
            scenario=self.plan.scenario, phases=stats, spectrum=spectrum(self.overall), sessions=sessions
        ).save_file(self.out / ScenarioStats.FILE_NAME)
        result = {
            "t0": self.plan.t0,
            "stopped_at": self.plan.stop_at,
            "ended": ended,
            "requests": self.total,
            "errors": self.errors,
            "dropped": self.dropped,
            "in_flight_at_end": self.in_flight,
            "fault_events": self.fault_events,
            "phases": [
                {"name": s.name, "start": a, "end": min(b, ended), "params": s.params()}
                for s, a, b in self.plan.phase_bounds()
                if a < ended
            ],
            "finished": time.time(),
        }
        write_atomic(self.out / RESULT_FILE, json.dumps(result, indent=2))
