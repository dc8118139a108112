"""What every measurement needs to know: the run, its windows, Prometheus, the request logs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.errors import GradeError, ReportError
from harness.grade.prom import Prom
from harness.grade.queries import PromQL, duration
from harness.grade.result import NoData
from harness.schemas.checklist import Checklist, ChecklistItem, ScenarioPlan
from harness.schemas.faults import UpstreamCalls
from harness.schemas.requests import read_request_log
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.service import MetricsMapping, preset_profile
from harness.schemas.timeline import ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import Window

# A window may miss this share of its scrapes (and one more at the edges) before it is a gap.
GAP_TOLERANCE = 0.1


@dataclass(eq=False)
class GradeContext:
    checklist: Checklist
    profile: str
    endpoints: Endpoints | None
    prom: Prom | None
    prom_error: str | None = None  # why ``prom`` is None
    folder: RunFolder | None = None
    timeline: Timeline | None = None
    window_override: Window | None = None  # `loadgate check`: one window for every item
    job: str = "agent"
    # Which series mean what on this service (the profile's mapping; the bundled one by default).
    metrics: MetricsMapping = field(default_factory=lambda: preset_profile("bundled").metrics)
    # Reasons the run cannot be trusted, collected while grading (scrape gaps, ...).
    invalid_reasons: list[str] = field(default_factory=list)
    _logs: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    _gaps: dict[tuple[float, float], list[str]] = field(default_factory=dict)
    _scrape_failures: dict[tuple[float, float], str] = field(default_factory=dict)

    @property
    def q(self) -> PromQL:
        return PromQL(self.metrics, self.job)

    def scrape_interval_s(self) -> float:
        """The service job's real scrape interval (a user's Prometheus: often 15-30 s); 1 s when
        Prometheus does not list the job as a target (``loadgate check`` on recorded data)."""
        return self.require_prom().scrape_interval_s(self.job) or 1.0

    def scenario_ran(self, name: str) -> ScenarioRun:
        """The scenario's run, once it ran to its end; NoData saying why not (failed, e.g. a fault with
        nowhere to go, or still running, or never started)."""
        if self.timeline is None:
            raise NoData("no timeline: no scenario ran")
        try:
            run = self.timeline.scenario(name)
        except KeyError:
            raise NoData(f"scenario {name} did not run") from None
        if run.status in (ScenarioStatus.failed, ScenarioStatus.running):
            raise NoData(f"scenario {name} {run.status.value}: {run.reason or 'no reason given'}")
        return run

    def window(self, item: ChecklistItem) -> Window:
        if self.window_override is not None:
            return self.window_override
        if not item.scenario:
            raise NoData(f"item {item.id} names no scenario to read")
        run = self.scenario_ran(item.scenario)
        try:
            start, end = run.window(item.phase)
        except KeyError as exc:
            raise NoData(str(exc.args[0])) from None
        if end <= start:
            raise NoData(f"scenario {item.scenario} phase {item.phase} has no duration")
        return Window(scenario=item.scenario, phase=item.phase, start=start, end=end)

    def require_prom(self) -> Prom:
        if self.prom is None:
            raise NoData(self.prom_error or "no Prometheus to read")
        return self.prom

    def plan(self, scenario: str | None) -> ScenarioPlan | None:
        if scenario is None:
            return None
        try:
            return self.checklist.plan(self.profile, scenario)
        except KeyError:
            return None

    def scenario_invalid(self, scenario: str | None) -> list[str]:
        if self.timeline is None or scenario is None:
            return []
        try:
            return list(self.timeline.scenario(scenario).invalid_reasons)
        except KeyError:
            return []

    def request_log(self, scenario: str | None) -> pd.DataFrame | None:
        if self.folder is None or scenario is None:
            return None
        if scenario not in self._logs:
            try:
                self._logs[scenario] = read_request_log(self.folder.request_log(scenario))
            except ReportError as exc:  # an unreadable log is no data for the items that need it
                raise GradeError(str(exc)) from exc
        return self._logs[scenario]

    def upstream_calls(self, scenario: str | None) -> UpstreamCalls | None:
        """What the fault proxies saw during the scenario (``upstream_calls.json``); None without one."""
        if self.folder is None or scenario is None:
            return None
        path = self.folder.client_dir(scenario) / UpstreamCalls.FILE_NAME
        return UpstreamCalls.load_file(path) if path.exists() else None

    def scrape_gaps(self, window: Window) -> list[str]:
        """Missed or failed scrapes of the service in ``window``: never read a gap as a calm period."""
        key = (window.start, window.end)
        if key not in self._gaps:
            self._gaps[key] = self._find_gaps(window)
        return self._gaps[key]

    def scrape_failures(self, window: Window) -> str | None:
        """The note 'target scrapes failed for N of M s (up == 0) ...' for ``window``, when they did
        (from the gaps already read for it)."""
        return self._scrape_failures.get((window.start, window.end))

    def scrape_gaps_seen(self, window: Window) -> list[str]:
        """Gaps already found for ``window`` (no new query: for windows nothing read from Prometheus)."""
        return self._gaps.get((window.start, window.end), [])

    def _find_gaps(self, window: Window) -> list[str]:
        prom = self.require_prom()
        interval = self.scrape_interval_s()
        span = window.end - window.start
        expected = span / interval
        end = f"{window.end:.3f}"
        count = prom.scalar(f'min(count_over_time({self.q.up()}[{duration(span)}] @ {end}))', window.end)
        where = f"{window.scenario}/{window.phase}" if window.scenario else "the window"
        if count is None:
            raise NoData(f"Prometheus has no scrapes of job={self.job} in {where}")
        gaps = []
        if count < math.floor(expected * (1 - GAP_TOLERANCE)) - 1:
            gaps.append(f"scrape gap: {count:.0f} of ~{expected:.0f} scrapes of job={self.job} in {where}")
        # up is 1 per good scrape and 0 per failed one: the scrapes less their sum are the failures.
        up, rng = self.q.up(), f"[{duration(span)}] @ {end}"
        failed = prom.scalar(f"max(count_over_time({up}{rng}) - sum_over_time({up}{rng}))", window.end)
        if failed:
            note = (f"target scrapes failed for {failed * interval:.0f} of {span:.0f} s (up == 0) "
                    f"of job={self.job} in {where}")
            self._scrape_failures[(window.start, window.end)] = note
            gaps.append(note)
        for reason in gaps:
            if reason not in self.invalid_reasons:
                self.invalid_reasons.append(reason)
        return gaps
