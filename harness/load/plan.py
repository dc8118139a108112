"""Scenario phase plans: a checklist ``ScenarioPlan`` turned into the timed phases Locust runs.

Pure data, no Locust: the runner builds a ``LoadPlan``, the Locust master broadcasts it to every
worker (so workers on other hosts need no file), and every process derives the current phase from
the wall clock and the plan's ``t0`` (hosts running workers need synchronised clocks, e.g. NTP).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field

from harness.errors import LoadError
from harness.load.arrivals import Arrival, TraceRow, phase_arrivals, trace_arrivals, unit_gaps
from harness.load.trace import load_trace
from harness.schemas.base import Contract
from harness.schemas.checklist import FaultSpec, Lengths, ScenarioPlan
from harness.schemas.service import ServiceProfile, preset_profile

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


class PhaseSpec(Contract):
    """One planned phase: either an arrival rate (open model) or a user count (closed model)."""

    name: str
    duration_s: float = Field(gt=0)
    rate_rps: float | None = None  # open model: total arrivals per second over all workers
    rate_end_rps: float | None = None  # a ramp: the rate rises (or falls) linearly to this by the end
    users: int | None = None  # closed model: concurrent users over all workers
    spawn_rate: float | None = None
    think_time_s: float = 0.0
    fault: FaultSpec | None = None  # applied for the phase (harness.load.faults says where)

    def params(self) -> dict[str, object]:
        out: dict[str, object] = {"duration_s": self.duration_s}
        for key in ("rate_rps", "rate_end_rps", "users", "spawn_rate"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.users is not None:
            out["think_time_s"] = self.think_time_s
        if self.fault is not None:
            out["fault"] = self.fault.model_dump()
        return out


class SessionSpec(Contract):
    """agent_sessions: how many turns a session has (geometric, mean ``turns_mean``, at most
    ``turns_max``), and the think time between an answer and the next question (0.5-1.5x)."""

    turns_mean: float = Field(4.0, ge=1)
    turns_max: int = Field(12, ge=1)
    think_time_s: float = Field(1.0, ge=0)
    cancel_share: float = Field(0.0, ge=0, le=1)  # of streamed turns: the user stops reading mid-answer
    cancel_after_tokens: int = Field(4, ge=1)
    prompt_tokens: Lengths | None = None  # each question's length (ScenarioPlan.prompt_tokens)
    output_tokens: Lengths | None = None  # each answer's max_tokens


class LoadPlan(Contract):
    """Everything a Locust process needs to run one scenario, broadcast by the master."""

    scenario: str
    phases: list[PhaseSpec]
    arrival: Literal["constant", "poisson", "gamma"] = "poisson"
    arrival_cv: float = Field(1.0, gt=0)  # gamma: coefficient of variation of the gaps (burstiness)
    trace: list[TraceRow] | None = None  # replay: intended starts are t0 + each row's offset
    session: SessionSpec | None = None  # agent_sessions: each arrival opens a multi-turn session
    stream_share: float = Field(0.2, ge=0, le=1)
    fresh_share: float = Field(0.0, ge=0, le=1)  # see ScenarioPlan.fresh_share
    max_in_flight: int = Field(2000, gt=0)
    late_ms: float = Field(50.0, gt=0)  # a request that starts this much after its schedule is late
    drain_s: float = Field(15.0, ge=0)  # after the last phase: no new requests, wait for in-flight ones
    connections: int | None = None  # per worker; None: as many as requests in flight
    zipf_s: float = Field(1.1, gt=0)
    max_tokens: int | None = None
    api_key: str = ""
    admin_token: str | None = None
    # Where faults go besides the service's admin API (harness.load.faults), and their lease.
    admin_faults_path: str | None = "/admin/faults"
    llm_proxy_url: str | None = None
    redis_proxy_url: str | None = None
    proxy_token: str | None = None
    fault_lease_s: float = Field(10.0, gt=0)
    stop_window_s: float = Field(30.0, gt=0)
    # (phase, measure, threshold value) of blocker limits a sliding window may prove hopeless.
    stop_limits: list[tuple[str, str, float]] = Field(default_factory=list)
    t0: float | None = None  # wall-clock start of the first phase, set by the master
    workers: int = Field(1, ge=1)  # worker processes sharing the arrival rate, set by the master
    stop_at: float | None = None  # set by the master when a stop condition ends the plan early
    # How requests are made and answers read (harness.target); the bundled contract by default.
    service: ServiceProfile = Field(default_factory=lambda: preset_profile("bundled"))
    # The run's seed (run.json): arrival gaps, prompt picks and stream choices draw from it, per worker.
    seed: int | None = None

    def rng(self, purpose: str, worker: int = 0) -> random.Random:
        """A generator for one purpose of one worker: reproducible from ``seed``, fresh without one."""
        if self.seed is None:
            return random.Random()
        return random.Random(f"{self.seed}:{self.scenario}:{purpose}:{worker}")

    @property
    def total_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    def phase_at(self, now: float) -> tuple[int, PhaseSpec | None]:
        """(index, phase) running at ``now``; index == len(phases) and None once the plan is over."""
        if self.t0 is None or now < self.t0:
            return 0, None
        if self.stop_at is not None and now >= self.stop_at:
            return len(self.phases), None
        edge = self.t0
        for i, phase in enumerate(self.phases):
            edge += phase.duration_s
            if now < edge:
                return i, phase
        return len(self.phases), None

    def phase_bounds(self) -> list[tuple[PhaseSpec, float, float]]:
        """(phase, start, end) in wall-clock seconds; an early stop cuts the plan short."""
        t = self.t0 if self.t0 is not None else time.time()
        stop = self.stop_at if self.stop_at is not None else float("inf")
        out = []
        for phase in self.phases:
            if t >= stop:
                break
            out.append((phase, t, min(t + phase.duration_s, stop)))
            t += phase.duration_s
        return out

    @property
    def end(self) -> float | None:
        bounds = self.phase_bounds() if self.t0 is not None else []
        return bounds[-1][2] if bounds else self.t0

    @property
    def open_model(self) -> bool:
        return self.trace is not None or any(p.rate_rps is not None for p in self.phases)


def arrivals(plan: LoadPlan, rng: random.Random, worker: int = 0) -> Iterator[Arrival]:
    """One worker's schedule of intended starts, whatever the responses do.

    Each phase restarts the process at its own edge, so a long gap at a low rate never eats into
    the next phase. A trace replaces the rate process: this worker replays its share of the rows.
    """
    if plan.trace is not None:
        bounds = plan.phase_bounds()
        if bounds:
            yield from trace_arrivals(bounds[0][1], plan.trace, bounds[0][0], worker, plan.workers)
        return
    constant = plan.arrival == "constant"
    # Constant: one schedule for the whole fleet, arrival i to worker i mod N, so the fleet sends the
    # phase's count exactly and evenly spaced (N streams with their own phases would be +-1 each and
    # unevenly spaced). Its offset is drawn the same on every worker: from the seed and t0 they share.
    share = plan.workers if constant else 1
    if constant and plan.workers > 1:
        rng = random.Random(f"{plan.seed}:{plan.scenario}:arrivals:{plan.t0!r}")
    gap = unit_gaps(plan.arrival, rng, plan.arrival_cv)
    for spec, start, end in plan.phase_bounds():
        if not spec.rate_rps and not spec.rate_end_rps:
            continue
        scale = share / plan.workers  # the fleet's rate for the constant schedule, this worker's otherwise
        rate0 = (spec.rate_rps or 0.0) * scale
        rate1 = (spec.rate_end_rps if spec.rate_end_rps is not None else spec.rate_rps or 0.0) * scale
        times = phase_arrivals(start, end, spec.duration_s, rate0, rate1, gap, constant=constant, rng=rng)
        for t in itertools.islice(times, worker % share, None, share):
            yield Arrival(t, spec)


def _rate(plan: ScenarioPlan, target_qps: float, x: float | None = None) -> float:
    return (x if x is not None else (plan.rate_x or 1.0)) * target_qps


def _warmup(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    # Warm caches and the model at the promised rate or less, so steady starts warm, not shocked.
    if plan.warmup_s <= 0:
        return []
    return [
        PhaseSpec(name="warmup", duration_s=plan.warmup_s, rate_rps=min(target_qps, _rate(plan, target_qps)))
    ]


def _ramp(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    if plan.ramp_s <= 0:
        return []
    start = min(target_qps, _rate(plan, target_qps)) if plan.warmup_s > 0 else 0.0
    end = _rate(plan, target_qps)
    return [PhaseSpec(name="ramp", duration_s=plan.ramp_s, rate_rps=start, rate_end_rps=end)]


def _steady(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    return [
        *_warmup(plan, target_qps),
        *_ramp(plan, target_qps),
        PhaseSpec(name="steady", duration_s=plan.steady_s, rate_rps=_rate(plan, target_qps)),
    ]


def _replay(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    """One phase as long as the trace (its last offset plus a moment, so the last row is inside)."""
    if not plan.trace:
        raise LoadError("trace_replay needs a trace: `--trace FILE` or `trace:` in the profile's plan")
    rows = load_trace(trace_path(plan.trace))
    return [PhaseSpec(name="replay", duration_s=rows[-1].offset_s + 0.001)]


def with_trace(name: str, plan: ScenarioPlan, trace: Path) -> ScenarioPlan:
    """The plan replaying ``trace`` (``--trace``); only trace_replay replays a trace."""
    check_trace(name, trace)
    return plan.model_copy(update={"trace": str(trace)})


def check_trace(name: str, trace: Path) -> None:
    """``--trace`` checked before anything starts: the scenario replays traces, the file reads."""
    if SCENARIOS.get(name, (None, None))[1] is not _replay:
        raise LoadError(f"--trace replays with scenario trace_replay, not {name!r}")
    load_trace(trace)


def _sessions(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    """Sessions arrive at turn_rate / turns_mean; then the same with the external tool slowed."""
    if plan.turn_rate_rps is None:
        raise LoadError("agent_sessions needs 'turn_rate_rps' in its plan (<= half the cold-cache capacity)")
    rate = plan.turn_rate_rps / plan.turns_mean
    phases = [PhaseSpec(name="sessions", duration_s=plan.steady_s, rate_rps=rate)]
    if plan.fault_s:
        fault = plan.fault or FaultSpec(tool_delay_s=5.0)
        phases.append(PhaseSpec(name="tool_fault", duration_s=plan.fault_s, rate_rps=rate, fault=fault))
    return phases


def trace_path(name: str) -> Path:
    """A trace named in the checklist: as given, else relative to the project (scenarios/data/...)."""
    path = Path(name)
    return path if path.is_absolute() or path.exists() else SCENARIO_DIR.parent / path


def _concurrency(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    if plan.users is None:
        raise LoadError("a concurrency scenario needs 'users' in its plan")
    spawn = plan.spawn_rate or max(plan.users / max(plan.warmup_s, 1.0), 1.0)
    think = plan.think_time_s if plan.think_time_s is not None else 1.0
    ramp_s = plan.warmup_s or plan.users / spawn
    common = {"users": plan.users, "spawn_rate": spawn, "think_time_s": think}
    return [
        PhaseSpec(name="ramp", duration_s=ramp_s, **common),
        PhaseSpec(name="hold", duration_s=plan.steady_s, **common),
    ]


def _faulted(default_fault: FaultSpec) -> Callable[[ScenarioPlan, float], list[PhaseSpec]]:
    def build(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
        rate = _rate(plan, target_qps)
        return [
            *_warmup(plan, target_qps),
            PhaseSpec(name="before", duration_s=plan.steady_s, rate_rps=rate),
            PhaseSpec(
                name="fault",
                duration_s=plan.fault_s or plan.steady_s,
                rate_rps=rate,
                fault=plan.fault or default_fault,
            ),
            PhaseSpec(name="recovery", duration_s=plan.recovery_s or plan.steady_s, rate_rps=rate),
        ]

    return build


def _spike(plan: ScenarioPlan, target_qps: float) -> list[PhaseSpec]:
    base = _rate(plan, target_qps)
    return [
        *_warmup(plan, target_qps),
        PhaseSpec(name="base", duration_s=plan.steady_s, rate_rps=base),
        PhaseSpec(
            name="spike",
            duration_s=plan.fault_s or plan.steady_s,
            rate_rps=_rate(plan, target_qps, plan.spike_x or 4.0),
        ),
        PhaseSpec(name="after", duration_s=plan.recovery_s or plan.steady_s, rate_rps=base),
    ]


# name -> (locustfile in scenarios/, phase builder)
SCENARIOS: dict[str, tuple[str, Callable[[ScenarioPlan, float], list[PhaseSpec]]]] = {
    "target_2x": ("target_2x.py", _steady),
    "concurrency_1000": ("concurrency_1000.py", _concurrency),
    "llm_slowdown": ("llm_slowdown.py", _faulted(FaultSpec(llm_delay_s=5.0))),
    "redis_outage": ("redis_outage.py", _faulted(FaultSpec(redis_down=True))),
    "soak": ("soak.py", _steady),
    "spike": ("spike.py", _spike),
    "trace_replay": ("trace_replay.py", _replay),
    "agent_sessions": ("agent_sessions.py", _sessions),
}
# A name the registry does not know runs as a plain open-model step when the caller gives a plan
# (capacity planning: "capacity_step_3" with rate_x, warmup_s, steady_s).
STEP_SCENARIO = "target_2x"


def resolve(
    name: str, plan: ScenarioPlan | None, checklist_plan: Callable[[], ScenarioPlan]
) -> tuple[Path, Callable[[ScenarioPlan, float], list[PhaseSpec]], ScenarioPlan]:
    """(locustfile, phase builder, plan) for a scenario name; LoadError naming the valid ones."""
    if name in SCENARIOS:
        file, build = SCENARIOS[name]
    elif plan is not None:
        file, build = SCENARIOS[STEP_SCENARIO]
    else:
        raise LoadError(
            f"unknown scenario {name!r}; valid scenarios: {', '.join(SCENARIOS)} "
            f"(or any name with an explicit plan, run as an open-model rate step)"
        )
    if plan is None:
        try:
            plan = checklist_plan()
        except KeyError as exc:
            raise LoadError(f"scenario {name!r}: {exc.args[0]}") from None
    return SCENARIO_DIR / file, build, plan


def build_plan(
    name: str,
    plan: ScenarioPlan,
    target_qps: float,
    build: Callable[[ScenarioPlan, float], list[PhaseSpec]],
    **extra: object,
) -> LoadPlan:
    return LoadPlan(
        scenario=name,
        phases=build(plan, target_qps),
        arrival=plan.arrival,
        arrival_cv=plan.arrival_cv,
        trace=load_trace(trace_path(plan.trace)) if plan.trace and build is _replay else None,
        session=SessionSpec(turns_mean=plan.turns_mean, turns_max=plan.turns_max,
                            think_time_s=1.0 if plan.think_time_s is None else plan.think_time_s,
                            cancel_share=plan.cancel_share, cancel_after_tokens=plan.cancel_after_tokens,
                            prompt_tokens=plan.prompt_tokens, output_tokens=plan.output_tokens)
        if build is _sessions else None,
        stream_share=plan.stream_share,
        fresh_share=plan.fresh_share,
        max_in_flight=plan.max_in_flight,
        **extra,
    )
