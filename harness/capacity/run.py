"""``loadgate capacity``: per target (uvicorn worker count), a concurrency probe, then an open-model
rate search against the SLO; then what-ifs with a slower model, and the replicas plan.

The caller (the pipeline) owns the targets: ``targets(workers)`` is a context manager that starts
the bundled service with that many workers (or yields a user's target for ``None``) and stops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace

import httpx

from harness.capacity.answer import breaking_text, finish, fmt_rps
from harness.capacity.breaking import breaking_rate, trials
from harness.capacity.concurrency_sweep import ProbeLevel, concurrency_sweep
from harness.capacity.judge import SLO
from harness.capacity.knee import find_knee
from harness.capacity.observe import idle_level, wait_drained
from harness.capacity.search import RateSearch
from harness.capacity.settings import CapacitySettings
from harness.capacity.step import (
    GENERATOR_SATURATED,
    StepRunner,
    StepSettings,
)
from harness.capacity.usl import fit_usl
from harness.errors import LoadError
from harness.schemas.capacity import (
    CapacityResult,
    CapacityStep,
    SearchResult,
    StepOutcome,
    USLFit,
)
from harness.schemas.checklist import Checklist
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import ScenarioRun
from harness.target.client import TargetClient
from harness.target.lease import HeldFault

Say = Callable[[str], None]
STEPS_DIR = "capacity_steps"  # the runner's per-step timeline and client statistics, inside the run folder


@dataclass
class Target:
    endpoints: Endpoints
    service_pid: int | None = None  # known when loadgate started the service: psutil reads CPU and RSS
    idle_in_flight: float = 0.0  # read by run_capacity before any load (observe.idle_level)


TargetFactory = Callable[[int | None], AbstractContextManager[Target]]


@dataclass(frozen=True)
class LoadDriver:
    """The load step as capacity drives it, handed in by the pipeline: capacity imports no other step."""

    run_scenario: Callable[..., ScenarioRun]  # harness.load.run_scenario
    prompts: Callable[[float], Callable[[], str]]  # fresh share -> prompt drawer (harness.load.prompt_picker)
    fault_lease_s: float = 10.0  # a fault capacity holds itself is a lease this long (LoadSettings)


def _quiet(_: str) -> None:
    pass


@dataclass
class _Clock:
    """The command's time budget, shared out over the searches still to run."""

    deadline: float
    searches_left: int

    def share(self) -> float:
        left = max(self.deadline - time.monotonic(), 0.0)
        share = left / max(self.searches_left, 1)
        self.searches_left -= 1
        return time.monotonic() + share


@dataclass
class SearchLoop:
    """One search's state: its steps and the cost of a step beyond its measured seconds."""

    name: str
    runner: StepRunner
    settings: CapacitySettings
    step_settings: StepSettings
    deadline: float
    say: Say
    steps: list[CapacityStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overhead_s: float = 10.0  # runner start-up, drain and reading results; re-estimated per step
    now: Callable[[], float] = time.monotonic

    def _fits(self, steady_s: float) -> bool:
        return self.now() + self.step_settings.warmup_s + steady_s + self.overhead_s <= self.deadline

    def _measure(self, rate: float, steady_s: float, remeasure_of: int | None = None) -> CapacityStep:
        began = self.now()
        step = self.runner.measure(self.name, len(self.steps), rate, steady_s, remeasure_of)
        self.overhead_s = max(self.now() - began - self.step_settings.warmup_s - steady_s, 1.0)
        self.steps.append(step)
        self.say(f"  {self.name} step {step.index}: {rate:.3g} req/s for {steady_s:g} s -> "
                 f"{step.outcome.value} ({step.reason}; drain wait {step.drain_wait_s:.1f} s: "
                 f"{step.drain_state})")
        return step

    def _next(self, search: RateSearch) -> tuple[float, float, int | None] | None:
        """(rate, seconds, step it re-measures) to measure next; None when the search is over.

        A converged search measures its answer once more, for ``confirm_s`` (at least ``hold_s``),
        before claiming it: a short step near a cliff can pass on luck, and the longer one must hold
        too. Failing, it becomes the bracket's new upper end and the bisection goes on below it.
        """
        rate = search.next_rate()
        if rate is not None:
            return rate, self.step_settings.steady_s(rate), None
        best = search.last_pass
        if best is None or not search.converged or self.holds_long(best):
            return None
        last = max((s for s in self.steps if s.rate_rps == best and s.outcome == StepOutcome.passed),
                   key=lambda s: s.duration_s)
        return best, self.step_settings.confirm_s(best), last.index

    def holds_long(self, rate: float) -> bool:
        """Whether ``rate`` passed a confirmation-length step (a confirmed answer)."""
        longer = self.step_settings.confirm_s(rate)
        return any(s.rate_rps == rate and s.outcome == StepOutcome.passed and s.duration_s >= longer
                   for s in self.steps)

    def run(self, search: RateSearch) -> bool:
        """Measure until the search converges or the budget runs out; True when it converged."""
        while (todo := self._next(search)) is not None:
            rate, steady_s, confirms = todo
            if len(self.steps) >= self.settings.max_steps:
                self.notes.append(f"stopped after {self.settings.max_steps} steps (max_steps)")
                return search.converged
            if not self._fits(steady_s):
                what = "confirming" if confirms is not None else "measuring"
                self.notes.append(f"time budget ran out before {what} {rate:.3g} req/s")
                return search.converged
            step = self._measure(rate, steady_s, remeasure_of=confirms)
            if confirms is not None and step.outcome != StepOutcome.passed:
                self.notes.append(f"{rate:.3g} req/s passed a short step but not the {steady_s:g} s "
                                  f"confirmation: counted as a failure")
            elif step.outcome == StepOutcome.inconclusive:
                # Longer gives a straddling interval more samples, and a generator that was briefly
                # starved of CPU by a neighbour a second chance.
                longer = self.step_settings.steady_s(rate, scale=2.0)
                if self._fits(longer):
                    step = self._measure(rate, longer, remeasure_of=step.index)
            if step.reason.startswith(GENERATOR_SATURATED):
                self.notes.append(f"the load generator could not deliver {rate:.3g} req/s: rates from "
                                  f"there up say nothing about the service")
            if step.outcome == StepOutcome.inconclusive:
                self.notes.append(f"{rate:.3g} req/s stayed inconclusive; counted as a failure "
                                  f"(a rate not shown to meet the SLO is not claimed)")
            search.record(rate, step.outcome == StepOutcome.passed)
        return search.converged


def _usl(levels: list[ProbeLevel]) -> tuple[USLFit | None, str | None]:
    try:
        return fit_usl([lv.concurrency for lv in levels], [lv.throughput_rps for lv in levels]), None
    except ValueError as exc:
        return None, str(exc)


@contextmanager
def _llm_delay(endpoints: Endpoints, delay_s: float, lease_s: float) -> Iterator[None]:
    """Slow every LLM call by ``delay_s`` through the service's fault API, for the duration: a lease
    renewed while the search runs, so a capacity run killed with SIGKILL leaves it on for one lease."""
    held = HeldFault(TargetClient.of(endpoints), {"llm_delay_s": delay_s}, lease_s=lease_s)
    try:
        held.start()
    except httpx.HTTPError as exc:
        raise LoadError(f"cannot inject an LLM delay of {delay_s} s through the fault API of "
                        f"{endpoints.target_url}: {exc}") from exc
    try:
        # Every worker re-reads the fault file at most every faults_poll_s (0.2 s by default).
        time.sleep(1.0)
        yield
    finally:
        held.release()


@dataclass(frozen=True)
class SearchContext:
    """What every search of one ``loadgate capacity`` shares (a what-if replaces ``settings``)."""

    settings: CapacitySettings
    checklist: Checklist
    profile: str
    folder: RunFolder  # the step runs' folder inside the run folder
    load: LoadDriver
    clock: _Clock
    say: Say


def _seed(ctx: SearchContext, name: str, target: Target,
          seed_hint: float | None) -> tuple[float, str, float, list[ProbeLevel]]:
    """Where the search starts, and why: (seed, how, the probe's best throughput, the probe's levels)."""
    settings = ctx.settings
    # A what-if search follows another on the same target: let that one's last requests finish first.
    wait_drained(TargetClient.of(target.endpoints), idle=target.idle_in_flight, timeout_s=30)
    ctx.say(f"{name}: concurrency probe")
    # The probe sends the steps' mix: a cache-friendlier probe would seed the search far too high.
    levels = concurrency_sweep(target.endpoints, ctx.load.prompts(settings.fresh_share),
                               level_s=settings.probe_level_s,
                               timeout_s=max(10 * ctx.checklist.slo_p99_s, 10.0))
    probe_best = max((lv.throughput_rps for lv in levels), default=0.0)
    if settings.seed_rps:
        seed, how = settings.seed_rps, "given (--seed-rps)"
    elif seed_hint:
        seed, how = seed_hint, "the baseline search's capacity"
    else:
        seed, how = probe_best, "closed-loop probe: the highest throughput over concurrency 1, 2, 4, ..."
    if seed <= 0:
        seed, how = settings.min_rate, "the lowest rate (the probe completed no request)"
    ctx.say(f"{name}: probe throughput {probe_best:.3g} req/s; searching from {seed:.3g} req/s "
            f"to within {settings.tolerance_value:.0%}")
    return seed, how, probe_best, levels


def _one_search(ctx: SearchContext, name: str, target: Target, *, workers: int | None, llm_extra_s: float,
                seed_hint: float | None) -> tuple[SearchResult, list[CapacityStep]]:
    began = time.monotonic()
    deadline = ctx.clock.share()
    settings, checklist, say = ctx.settings, ctx.checklist, ctx.say
    tolerance = settings.tolerance_value
    seed, how, probe_best, levels = _seed(ctx, name, target, seed_hint)
    step_settings = StepSettings.from_capacity(settings)
    slo = SLO(checklist.slo_p99_s, checklist.slo_error_rate, settings.confidence, settings.strict_errors)
    runner = StepRunner(run_scenario=ctx.load.run_scenario, checklist=checklist, profile=ctx.profile,
                        endpoints=target.endpoints, folder=ctx.folder, slo=slo, tolerance=tolerance,
                        settings=step_settings, service_pid=target.service_pid,
                        idle_in_flight=target.idle_in_flight)
    rate_search = RateSearch(seed=seed, tolerance=tolerance, min_rate=settings.min_rate,
                             max_rate=settings.max_rate)
    state = SearchLoop(name, runner, settings, step_settings, deadline, say)
    converged = state.run(rate_search)
    usl, usl_error = _usl(levels)
    cached = [s.cached_fraction for s in state.steps if s.cached_fraction is not None]
    if cached and max(cached) - min(cached) > 0.05:
        state.notes.append(f"the response cache answered {min(cached):.0%}-{max(cached):.0%} of a step's "
                           f"requests: cached answers are cheap, so capacity depends on the hit ratio and "
                           f"rises as the cache warms during the search")
    lo, hi = rate_search.last_pass, rate_search.first_fail
    rss = [s.rss_bytes_max for s in state.steps if s.rss_bytes_max]
    breaking = breaking_rate(trials(state.steps), hold_s=step_settings.hold_s, confidence=settings.confidence)
    result = SearchResult(
        name=name, workers=workers, llm_extra_latency_s=llm_extra_s, seed_rps=seed, seed_method=how,
        probe_rps=probe_best, fresh_share=settings.fresh_share,
        tolerance=tolerance, confidence=settings.confidence, max_sustainable_rps=lo, bracket_rps=(lo, hi),
        bracket_width=rate_search.width, converged=converged,
        confirmed=lo is not None and state.holds_long(lo), breaking=breaking,
        peak_rss_bytes=max(rss, default=None),
        knee=find_knee([(s.rate_rps, s.p50_s) for s in state.steps]), usl=usl, usl_error=usl_error,
        elapsed_s=round(time.monotonic() - began, 1), notes=[*state.notes, *rate_search.notes])
    say(f"{name}: max sustainable {fmt_rps(lo)} req/s, bracket [{fmt_rps(lo)}, {fmt_rps(hi)}]"
        f"{'' if converged else ' (not converged)'}{' (confirmed)' if result.confirmed else ''}"
        f"{breaking_text(breaking)}")
    return result, state.steps


def _what_if_searches(ctx: SearchContext, label: str, target: Target, baseline: SearchResult,
                      notes: list[str]) -> Iterator[tuple[SearchResult, list[CapacityStep]]]:
    """The what-ifs, each a search on the first target: a slower model, another cache-hit ratio."""
    same = {"workers": baseline.workers, "seed_hint": baseline.max_sustainable_rps}
    for delay in ctx.settings.llm_latency_s:
        if not target.endpoints.admin_token:
            notes.append(f"what-if llm +{delay:g} s skipped: no admin token for the fault API")
            continue
        with _llm_delay(target.endpoints, delay, ctx.load.fault_lease_s):
            yield _one_search(ctx, f"{label} llm+{delay:g}s", target, llm_extra_s=delay, **same)
    for share in ctx.settings.fresh_share_what_if:
        mix = replace(ctx, settings=ctx.settings.model_copy(update={"fresh_share": share}))
        yield _one_search(mix, f"{label} fresh={share:g}", target, llm_extra_s=0.0, **same)


def run_capacity(settings: CapacitySettings, *, checklist: Checklist, profile: str, folder: RunFolder,
                 targets: TargetFactory, load: LoadDriver, say: Say = _quiet) -> CapacityResult:
    """Search every worker count (and the what-ifs on the first), plan, save ``capacity.json``."""
    started = time.time()
    clock = _Clock(time.monotonic() + settings.budget_s, len(settings.worker_counts)
                   + len(settings.llm_latency_s) + len(settings.fresh_share_what_if))
    steps_folder = RunFolder(folder.root / STEPS_DIR).ensure()
    searches: list[SearchResult] = []
    steps: list[CapacityStep] = []
    notes: list[str] = []
    target_url = ""
    ctx = SearchContext(settings, checklist, profile, steps_folder, load, clock, say)
    for i, workers in enumerate(settings.worker_counts):
        label = f"workers={workers}" if workers is not None else "as deployed"
        say(f"{label}: starting the target")
        with targets(workers) as target:
            target_url = target.endpoints.target_url
            target.idle_in_flight = idle_level(TargetClient.of(target.endpoints))
            result, found = _one_search(ctx, label, target, workers=workers, llm_extra_s=0.0, seed_hint=None)
            searches.append(result)
            steps += found
            for what_if, found in _what_if_searches(ctx, label, target, result, notes) if i == 0 else ():
                searches.append(what_if)
                steps += found
    return finish(settings, checklist, searches, steps, notes, target_url, started, folder)
