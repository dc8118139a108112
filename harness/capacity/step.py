"""One open-model step: wait for the target to drain, run a fixed arrival rate through the load
runner, and turn its request log into a ``CapacityStep`` judged against the SLO."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd

from harness.capacity.concurrency_sweep import one_uncached_request
from harness.capacity.cpu_account import CpuAccount
from harness.capacity.judge import SLO, backlog_growth, judge_step
from harness.capacity.observe import Observation, Observer, wait_drained
from harness.capacity.settings import CapacitySettings
from harness.errors import LoadError
from harness.schemas.capacity import CapacityStep, StepOutcome
from harness.schemas.checklist import Checklist, ScenarioPlan
from harness.schemas.requests import read_request_log
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import ScenarioRun, ScenarioStats
from harness.stats import min_samples_for_upper_bound
from harness.target.client import TargetClient

STEADY = "steady"
GENERATOR_SATURATED = "load generator saturated"  # how a step's reason starts when the generator limited it


def min_samples_for(confidence: float) -> int:
    """Fewest samples with an upper ``confidence`` bound on P99 (Wilks): what a pass needs."""
    return min_samples_for_upper_bound(0.99, confidence)


def planned_samples(needed: int) -> int:
    """Arrivals to plan for so a Poisson count reaches ``needed``: three standard deviations above.

    With a 10% margin, two steps of one search drew 296 of the 299 needed and were re-measured.
    """
    return math.ceil(needed + 3 * math.sqrt(needed))


@dataclass(frozen=True)
class StepSettings:
    warmup_s: float = 2.0
    min_step_s: float = 8.0
    max_step_s: float = 60.0
    # The samples a step is planned for: enough for an upper 95% bound on P99, with Poisson margin.
    min_samples: int = planned_samples(min_samples_for(0.95))
    arrival: str = "constant"
    stream_share: float = 0.0
    fresh_share: float = 0.0
    max_in_flight: int = 2000
    drain_timeout_s: float = 60.0
    load_workers: int = 1
    # A degraded (retrieval-only) answer is the service shedding load: without this, a service that
    # times its model out under overload would look like it sustains any rate.
    degraded_is_error: bool = True

    # The answer must also hold for this long (a converged search's confirmation step): near the
    # cliff where timeouts cascade, a short step passes on luck that a longer one runs out of.
    hold_s: float = 30.0

    @classmethod
    def from_capacity(cls, settings: CapacitySettings) -> StepSettings:
        """The one way a search gets its step settings: from what ``loadgate capacity`` was asked."""
        return cls(min_step_s=settings.min_step_s, max_step_s=settings.max_step_s, hold_s=settings.hold_s,
                   min_samples=planned_samples(min_samples_for(settings.confidence)),
                   arrival=settings.arrival, stream_share=settings.stream_share,
                   fresh_share=settings.fresh_share, load_workers=settings.load_workers,
                   degraded_is_error=settings.degraded_is_error)

    def steady_s(self, rate: float, scale: float = 1.0) -> float:
        """Long enough for ``min_samples`` at ``rate``, within [min_step_s, max_step_s], times scale."""
        base = min(max(self.min_samples / rate, self.min_step_s), self.max_step_s)
        return math.ceil(base * scale)

    def confirm_s(self, rate: float) -> float:
        """The confirmation step: twice a step, and at least ``hold_s``."""
        return max(self.steady_s(rate, scale=2.0), math.ceil(self.hold_s))


@dataclass
class StepRunner:
    """Runs steps for one target; ``run_scenario`` is the load runner (harness.load.run_scenario)."""

    run_scenario: Callable[..., ScenarioRun]
    checklist: Checklist
    profile: str
    endpoints: Endpoints
    folder: RunFolder  # where the runner writes each step's timeline entry and client statistics
    slo: SLO
    tolerance: float
    settings: StepSettings
    service_pid: int | None = None
    idle_in_flight: float = 0.0  # the target's in-flight gauge with no load (see observe.idle_level)

    def _run(self, name: str, rate: float, steady_s: float) -> tuple[ScenarioRun, Observation]:
        """One open-model step at ``rate`` through the load runner, observed from the target's side."""
        plan = ScenarioPlan(warmup_s=self.settings.warmup_s, steady_s=steady_s, rate_x=1.0,
                            arrival=self.settings.arrival, stream_share=self.settings.stream_share,
                            fresh_share=self.settings.fresh_share,
                            max_in_flight=self.settings.max_in_flight)
        # The runner's rate is rate_x * target_qps: a checklist copy whose target is this step's rate.
        checklist = self.checklist.model_copy(update={"target_qps": rate})
        observer = Observer(TargetClient.of(self.endpoints), self.service_pid).start()
        try:
            run = self.run_scenario(name, checklist=checklist, profile=self.profile,
                                    endpoints=self.endpoints, run_folder=self.folder,
                                    workers=self.settings.load_workers, progress=False, plan=plan)
        finally:
            observation = observer.stop()
        return run, observation

    def _degraded_now(self) -> dict[str, float]:
        with httpx.Client() as client:
            return TargetClient.of(self.endpoints).degraded_counts(client)

    def measure(self, search: str, index: int, rate: float, steady_s: float,
                remeasure_of: int | None = None) -> CapacityStep:
        waited, drained, how = wait_drained(TargetClient.of(self.endpoints), idle=self.idle_in_flight,
                                            timeout_s=self.settings.drain_timeout_s,
                                            nudge=lambda: one_uncached_request(self.endpoints))
        name = f"capacity_{_slug(search)}_{index:02d}"
        account_before = CpuAccount.now(self.service_pid)
        degraded_before = self._degraded_now()
        run, observation = self._run(name, rate, steady_s)
        account = CpuAccount.now(self.service_pid)
        # Only where the service is known: else its own CPU would read as the machine's other work.
        other_cores = account.other_cores_since(account_before) if self.service_pid else None
        reasons = _increase(degraded_before, self._degraded_now())
        window = run.window(STEADY)
        stats = ScenarioStats.load_file(self.folder.client_stats(name)).phase(STEADY)
        log = self.folder.request_log(name)
        frame = read_request_log(log)
        if frame is None:
            raise LoadError(f"step {name}: the runner wrote no request log at {log}")
        rows = frame[frame["phase"] == STEADY]
        kinds = error_kinds(rows, self.settings.degraded_is_error)
        if stats.dropped:
            kinds["dropped"] = stats.dropped
        errors = sum(kinds.values())
        total = len(rows) + stats.dropped
        latencies = rows["latency"].to_numpy(dtype=float)
        latencies = latencies[np.isfinite(latencies)]
        ends = rows["end"].to_numpy(dtype=float)
        growth = backlog_growth(rows["intended_start"].to_numpy(dtype=float), ends, window)
        judged = judge_step(latencies, errors, total, self.slo, rate=rate, tolerance=self.tolerance,
                            growth=growth)
        outcome, reason = _outcome(judged.outcome, judged.reason, run, kinds, drained, how, reasons)
        mean_latency = float(latencies.mean()) if latencies.size else None
        seen = observation.window(*window)
        return CapacityStep(
            search=search, index=index, rate_rps=rate, duration_s=window[1] - window[0],
            achieved_rps=stats.achieved_rps, requests=total, errors=errors, error_kinds=kinds,
            error_rate=judged.error_rate,
            error_rate_ci=judged.error_rate_ci, p50_s=judged.p50, p95_s=judged.p95, p99_s=judged.p99,
            p99_ci_s=judged.p99_ci,
            mean_latency_s=mean_latency,
            in_flight_little=stats.achieved_rps * mean_latency if mean_latency is not None else None,
            in_flight_observed=seen.mean_in_flight, late_starts=stats.late_starts, dropped=stats.dropped,
            degraded=stats.degraded, degraded_reasons=reasons,
            cached_fraction=float(rows["cached"].mean()) if len(rows) else None,
            cpu_percent=seen.mean_cpu, load_average=round(os.getloadavg()[0], 2),
            other_cpu_cores=None if other_cores is None else round(other_cores, 3),
            steal_percent=account.steal_percent_since(account_before),
            rss_bytes_max=observation.max_rss,
            drain_wait_s=round(waited, 3), drained=drained, drain_state=how, outcome=outcome, reason=reason,
            remeasure_of=remeasure_of)


def _increase(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    """A counter's rise per label between two reads, largest first; a reset reads as no rise."""
    rise = {k: int(v - before.get(k, 0.0)) for k, v in after.items()}
    return dict(sorted(((k, n) for k, n in rise.items() if n > 0), key=lambda kv: -kv[1]))


def _outcome(outcome: StepOutcome, reason: str, run: ScenarioRun, kinds: dict[str, int], drained: bool,
             how: str, fallbacks: dict[str, int]) -> tuple[StepOutcome, str]:
    """The judgement, unless the generator limited the step; the reason says what else went on."""
    if run.invalid_reasons:
        # The generator, not the service, limited this step: it says nothing about the SLO.
        outcome = StepOutcome.inconclusive
        reason = f"{GENERATOR_SATURATED} ({'; '.join(run.invalid_reasons)}); {reason}"
    if kinds:
        reason += "; errors: " + ", ".join(f"{k} x{v}" for k, v in kinds.items())
    if fallbacks:  # why the service fell back, by its own counter's reason label
        reason += "; the service's fallback answers: " + ", ".join(f"{k} x{v}" for k, v in fallbacks.items())
    if not drained:
        reason += f"; previous backlog not drained ({how})"
    return outcome, reason


def error_kinds(rows: pd.DataFrame, degraded_is_error: bool) -> dict[str, int]:
    """What a user counts as not served, by kind: no response ("no response"), a server error or a
    refusal (by status: "503", "429"), and unless told otherwise a degraded answer ("degraded")."""
    status = rows["status"].to_numpy()
    kinds: dict[str, int] = {}
    if (none := int((status == 0).sum())):
        kinds["no response"] = none
    for code in sorted(set(status[(status == 429) | (status >= 500)].tolist())):
        kinds[str(code)] = int((status == code).sum())
    if degraded_is_error:
        degraded = rows["degraded"].to_numpy(dtype=bool) & (status == 200)
        if degraded.any():
            kinds["degraded"] = int(degraded.sum())
    return kinds


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower() or "search"

