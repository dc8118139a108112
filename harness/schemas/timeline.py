"""What the load step did and saw: the timeline of phases and the client-side statistics."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from pydantic import Field

from harness.schemas.base import Contract, VersionedModel


class Phase(Contract):
    """One named stretch of a scenario (warm-up, steady, fault, recovery, ...), wall-clock seconds."""

    name: str
    start: float
    end: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration(self) -> float:
        return (self.end or self.start) - self.start


class ScenarioStatus(StrEnum):
    running = "running"  # written while in progress; a crash leaves it here
    completed = "completed"
    aborted = "aborted"  # a stop condition ended it early (reason says which)
    failed = "failed"  # the runner could not run it (reason says why)


class StopCause(StrEnum):
    service = "service"  # the service under test: it died, fell silent, or a blocker went hopeless
    harness = "harness"  # a part of the run itself: Prometheus, a load generator worker, ...


class ScenarioStop(Contract):
    """Why a scenario ended early, for the items that read its phases: a service that failed under a
    fault has shown how it handles that fault; a run cut short by its own parts has shown nothing."""

    cause: StopCause
    reason: str
    at: float  # when the load generator was told to stop (the running phase ends here)
    phase: str | None = None  # the phase running then; None: between phases or in the drain
    since: float | None = None  # when the trouble began, as far as known (a silence's first failed poll)


class ScenarioRun(Contract):
    name: str
    status: ScenarioStatus
    reason: str = ""
    stop: ScenarioStop | None = None  # set when status is aborted by a stop condition
    start: float
    end: float | None = None
    phases: list[Phase] = Field(default_factory=list)
    # Why this scenario's numbers describe the generator rather than the service (saturation guard).
    invalid_reasons: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)

    def phase(self, name: str) -> Phase:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(f"scenario {self.name!r} has no phase {name!r} (has {[p.name for p in self.phases]})")

    def window(self, phase: str | None = None) -> tuple[float, float]:
        """(start, end) of one phase, or of the whole scenario when ``phase`` is None."""
        if phase is None:
            return self.start, self.end or self.start
        p = self.phase(phase)
        return p.start, p.end or p.start


class IncidentKind(StrEnum):
    died = "died"  # a process loadgate started exited during the load
    restarted = "restarted"  # the target came back as a new process (counters reset)
    no_answer = "no answer"  # a component loadgate did not start stopped answering


TARGET_COMPONENT = "target service"  # an incident of the target is the service's failure: NO-GO


class Incident(Contract):
    """Something in the stack broke during the load, seen by the watchdog (or by grading, for a restart)."""

    component: str  # TARGET_COMPONENT, "prometheus", ...
    kind: IncidentKind
    at: float  # when it happened, as far as known (the first failed poll for "no answer")
    detected_at: float
    # The watchdog's last poll that found the component well: what broke, broke after it. None when
    # no poll had (or for incidents found at grading).
    ok_at: float | None = None
    scenario: str | None = None  # the scenario running then
    exit_code: int | None = None
    log_tail: str = ""  # the log file and its last lines
    detail: str = ""  # one line: what was seen

    @property
    def summary(self) -> str:
        when = time.strftime("%H:%M:%S UTC", time.gmtime(self.at))
        during = f" during {self.scenario}" if self.scenario else ""
        if self.kind == IncidentKind.no_answer:
            text = f"{self.component}: no answer from {when} on{during}"
        else:
            text = f"{self.component} {self.kind.value} at {when}{during}"
        if self.exit_code is not None:
            text += f" (exit code {self.exit_code})"
        return text + (f": {self.detail}" if self.detail else "")


class Timeline(VersionedModel):
    FILE_NAME = "timeline.json"

    run_id: str
    scenarios: list[ScenarioRun] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)

    def scenario(self, name: str) -> ScenarioRun:
        for run in self.scenarios:
            if run.name == name:
                return run
        raise KeyError(f"timeline has no scenario {name!r} (has {[s.name for s in self.scenarios]})")

    def upsert(self, run: ScenarioRun) -> None:
        self.scenarios = [s for s in self.scenarios if s.name != run.name] + [run]


class LatencySummary(Contract):
    """Percentiles in seconds from a high-resolution histogram (>= 3 significant digits)."""

    count: int
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None


class PhaseStats(Contract):
    phase: str
    start: float
    end: float
    requests: int
    failures: int  # outcome error (harness.schemas.outcome): 5xx, other 4xx, no answer, unreadable 2xx
    served: int | None = None  # None: written before outcomes were counted
    shed: int | None = None  # 429: refused on purpose, neither served nor an error
    status_counts: dict[str, int] = Field(default_factory=dict)
    target_rps: float | None = None  # open-model scenarios: the promised arrival rate
    achieved_rps: float
    late_starts: int = 0  # requests that started later than scheduled (coordinated omission)
    dropped: int = 0  # scheduled arrivals that never started (in-flight bound reached)
    max_users: int = 0
    latency: LatencySummary  # from the intended start (corrected)
    latency_uncorrected: LatencySummary  # from the actual send
    ttft: LatencySummary | None = None  # streamed answers: time to the first token
    itl: LatencySummary | None = None  # streamed answers: each answer's mean gap between tokens
    degraded: int = 0
    cached: int = 0
    generator_cpu_max: float | None = None  # percent of one core, the busiest generator process


class SessionStats(Contract):
    """agent_sessions: conversations as a user lives them. A session failed when any turn failed,
    completed when every planned turn was answered, unfinished when the run ended first."""

    started: int = 0
    completed: int = 0
    failed: int = 0
    unfinished: int = 0
    turns_per_session: dict[int, int] = Field(default_factory=dict)  # turns asked -> finished sessions
    duration: LatencySummary = Field(default_factory=lambda: LatencySummary(count=0))
    latency_by_turn: dict[int, LatencySummary] = Field(default_factory=dict)
    tool_outcomes: dict[str, dict[str, int]] = Field(default_factory=dict)  # tool -> status -> calls
    cancelled_turns: int = 0  # streamed turns the user stopped reading mid-answer (cancel_share)


class ScenarioStats(VersionedModel):
    """``client/<scenario>/stats.json``: the load generator's own view of one scenario."""

    FILE_NAME = "stats.json"

    scenario: str
    phases: list[PhaseStats] = Field(default_factory=list)
    # Percentile spectrum over the whole scenario: (percentile 0..100, latency seconds).
    spectrum: list[tuple[float, float]] = Field(default_factory=list)
    sessions: SessionStats | None = None  # agent_sessions only

    def phase(self, name: str) -> PhaseStats:
        for p in self.phases:
            if p.phase == name:
                return p
        raise KeyError(f"no client statistics for phase {name!r} of {self.scenario!r}")
