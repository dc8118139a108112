"""The master's side of the measurement: every worker's tally is merged here.

Workers send the increments of their HdrHistograms and counts (``harness.load.tally``) every flush;
the recorder adds them into one tally that the exporter and the live window read, writes
``live.jsonl`` (one sample a second) and, at the end, merges the workers' own request logs (sent
after the load) into ``requests.csv`` and writes ``stats.json`` and ``generator.json`` for the
runner. No Locust import: it is fed tallies (or rows), so it is tested without a load test.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.load.exporter import Exporter
from harness.load.plan import LoadPlan
from harness.load.stats import PhaseAccumulator, new_histogram, percentile, spectrum
from harness.load.tally import Keeper, Tally
from harness.schemas.files import write_atomic
from harness.schemas.requests import REQUEST_LOG, RequestRow, merge_request_logs
from harness.schemas.timeline import ScenarioStats

LIVE_FILE = "live.jsonl"
RESULT_FILE = "generator.json"
PARTS_DIR = "workers"  # each worker's request log, until finish merges them into requests.csv
STOP_FILE = "stop"  # written by the runner: the master ends the plan early at its next tick


class Recorder:
    def __init__(self, plan: LoadPlan, out_dir: Path, exporter: Exporter | None = None) -> None:
        self.plan = plan
        self.out = Path(out_dir)
        self.parts = self.out / PARTS_DIR
        self.parts.mkdir(parents=True, exist_ok=True)
        self.exporter = exporter
        self._live_file = open(self.out / LIVE_FILE, "w", encoding="utf-8")  # noqa: SIM115
        self.tally = Tally(plan.late_ms / 1000)
        self.workers: dict[str, dict[str, float]] = {}
        self.lost: dict[str, str] = {}  # worker -> what happened to it
        self.fault_events: list[dict[str, Any]] = []
        self._local: Keeper | None = None
        if exporter:
            exporter.read(self.tally)

    def add_tally(self, data: dict[str, Any]) -> None:
        """One process's increments since its last flush (``Tally.take``)."""
        self.tally.merge(data)

    def add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Rows of a process without workers (tests, synthetic runs): kept as a worker keeps them."""
        if self._local is None:
            self._local = Keeper(self.parts / "local.csv", self.plan.late_ms / 1000)
        for row in map(RequestRow._make, rows):
            self._local.keep(row)
        self.add_tally(self._local.tally.take())

    def add_dropped(self, dropped: dict[str, int]) -> None:
        self.tally.add_dropped(dropped)

    def add_log(self, worker: str, text: str) -> None:
        """A piece of a worker's own request log, sent after the load; merged at ``finish``."""
        with open(self.parts / f"{worker}.csv", "a", encoding="utf-8") as part:
            part.write(text)

    def worker_state(self, worker: str, users: int, in_flight: int, cpu: float) -> None:
        self.workers[worker] = {"users": users, "in_flight": in_flight, "cpu": cpu}

    @property
    def users(self) -> int:
        return int(sum(w["users"] for w in self.workers.values()))

    @property
    def in_flight(self) -> int:
        return int(sum(w["in_flight"] for w in self.workers.values()))

    def _window(self, now: float) -> dict[str, Any]:
        """The live window's merged histogram: requests that ended in its seconds (1 s resolution)."""
        self.tally.forget_before(math.floor(now - self.plan.stop_window_s))
        hist, errors, recent = new_histogram(), 0, 0
        for second, (h, counts) in self.tally.seconds.items():
            hist.add(h)
            errors += counts["errors"]
            recent += h.get_total_count() if second >= now - 5 else 0
        n = hist.get_total_count()
        return {"rps": recent / 5.0, "window_n": n, "window_p99": percentile(hist, 99) if n else None,
                "window_error_rate": errors / n if n else None}

    def sample(self, now: float, master_cpu: float) -> dict[str, Any]:
        """One live sample: also the moment per-phase user and CPU maxima are taken."""
        _, phase = self.plan.phase_at(now)
        cpu = max([master_cpu, *(w["cpu"] for w in self.workers.values())])
        if phase is not None:
            acc = self.tally.phase(phase.name)
            acc.max_users = max(acc.max_users, self.users)
            acc.cpu_max = max(acc.cpu_max or 0.0, cpu)
        if self.exporter:
            self.exporter.gauges(
                self.users, self.in_flight, phase.name if phase else None, phase.rate_rps if phase else None
            )
        out = {
            "t": now,
            "phase": phase.name if phase else None,
            "elapsed": now - self.plan.t0 if self.plan.t0 else 0.0,
            "total_s": self.plan.total_s,
            "requests": self.tally.requests,
            "errors": self.tally.errors,
            "dropped": self.tally.dropped,
            "users": self.users,
            "in_flight": self.in_flight,
            "cpu_max": cpu,
            "cpu_by_worker": {name: w["cpu"] for name, w in self.workers.items()},
            **self._window(now),
        }
        self._live_file.write(json.dumps(out) + "\n")
        self._live_file.flush()
        return out

    def finish(self, ended: float) -> None:
        """Write requests.csv (the workers' logs merged), stats.json and generator.json; nothing when
        the load never started (a refused worker: the runner reads the refusal instead)."""
        if self._local is not None:
            self._local.log.close()
        self._live_file.close()
        if self.plan.t0 is None:
            return
        merge_request_logs(sorted(self.parts.glob("*.csv")), self.out / REQUEST_LOG)
        shutil.rmtree(self.parts)
        stats = []
        for spec, start, end in self.plan.phase_bounds():
            acc = self.tally.phases.get(spec.name) or PhaseAccumulator(spec.name, self.plan.late_ms / 1000)
            stats.append(acc.to_stats(start, min(end, ended), spec.rate_rps))
        sessions = self.tally.sessions.to_stats() if self.plan.session is not None else None
        ScenarioStats(scenario=self.plan.scenario, phases=stats, spectrum=spectrum(self.tally.overall()),
                      sessions=sessions).save_file(self.out / ScenarioStats.FILE_NAME)
        result = {
            "t0": self.plan.t0,
            "stopped_at": self.plan.stop_at,
            "ended": ended,
            "requests": self.tally.requests,
            "errors": self.tally.errors,
            "dropped": self.tally.dropped,
            "workers": sorted(self.workers),
            "lost_workers": self.lost,
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
