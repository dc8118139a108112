"""``capacity.json``: what one replica holds under the SLO, how it scales, and how many are needed.

Written by ``harness.capacity``; the report renders it generically (scalars as facts, lists of
records as tables), so every field name says what it is and carries its unit.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import Field

from harness.schemas.base import Contract, VersionedModel


class StepOutcome(StrEnum):
    passed = "pass"  # the SLO holds with confidence
    failed = "fail"  # the SLO is broken with confidence
    inconclusive = "inconclusive"  # a confidence interval straddles a threshold


class CapacityStep(Contract):
    """One open-model step at a fixed arrival rate, started only after the previous one drained."""

    search: str  # which search this step belongs to, e.g. "workers=1" or "workers=1 llm+0.5s"
    index: int
    rate_rps: float  # the promised (scheduled) arrival rate
    duration_s: float  # the measured phase, without warm-up
    achieved_rps: float  # completed requests per second over the phase
    requests: int
    errors: int  # no response (status 0), 5xx, 429, degraded answers, and arrivals the generator dropped
    error_kinds: dict[str, int] = Field(default_factory=dict)  # the errors by kind, e.g. {"429": 12}
    error_rate: float
    error_rate_ci: tuple[float, float]  # Clopper-Pearson, two-sided at 2 * confidence - 1
    p50_s: float | None
    p95_s: float | None = None
    p99_s: float | None
    # (lower, upper) one-sided bounds, each at the confidence; None: too few samples for an upper bound
    p99_ci_s: tuple[float, float] | None
    mean_latency_s: float | None
    in_flight_little: float | None  # Little's law: achieved_rps * mean latency
    in_flight_observed: float | None  # mean of the target's agent_active_tasks (or the generator's)
    late_starts: int = 0
    dropped: int = 0
    degraded: int = 0
    # The service's own count of fallback answers by reason (its ``metrics.degraded`` counter, e.g.
    # {"timeout": 34, "breaker_open": 200}) over the step, warm-up included; {} without such a counter.
    degraded_reasons: dict[str, int] = Field(default_factory=dict)
    # Answers served from the response cache: cheap, so capacity rises as the cache warms.
    cached_fraction: float | None = None
    cpu_percent: float | None = None  # service, percent of one core, mean over the step
    rss_bytes_max: int | None = None  # service resident memory, all workers
    # The machine's 1-minute load average at the step's end: CPU taken by anything else on the host
    # (the load generator included) moves a CPU-bound service's capacity between steps and runs.
    load_average: float | None = None
    # Cores that processes outside this run (neither loadgate's nor the service's) kept busy, mean
    # over the step: what the load average cannot separate from the run's own load. None without
    # the service's pid (a target loadgate did not start).
    other_cpu_cores: float | None = None
    # CPU time the hypervisor gave to other guests over the step, percent of the machine's: a busier
    # host is one reason reruns differ. None where the platform does not account it.
    steal_percent: float | None = None
    drain_wait_s: float  # how long this step waited for the previous backlog to drain before starting
    drained: bool  # False: the bounded wait ran out with the target still busy (step is suspect)
    # What the wait read last, e.g. "agent_active_tasks = 1, breaker closed after 4 request(s)".
    drain_state: str = ""
    outcome: StepOutcome
    reason: str  # one line: why pass / fail / inconclusive
    remeasure_of: int | None = None  # index of the inconclusive step this one re-measures, longer


class Knee(Contract):
    """Where latency departs from flat: the first rate whose P50 exceeds the low-load P50 by a factor."""

    rate_rps: float | None
    p50_s: float | None
    baseline_p50_s: float | None
    factor: float
    method: str


def usl_throughput(n: float, lam: float, sigma: float, kappa: float) -> float:
    """The USL's throughput at concurrency ``n`` (a number or a numpy array): what ``USLFit``'s
    parameters mean."""
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


class USLFit(Contract):
    """Universal Scalability Law: X(N) = lambda*N / (1 + sigma*(N-1) + kappa*N*(N-1))."""

    lambda_rps: float  # throughput of one request in flight
    sigma: float  # contention (serial fraction)
    kappa: float  # coherency (crosstalk) penalty
    r_squared: float
    points: int
    peak_concurrency: float | None  # N* = sqrt((1 - sigma) / kappa); None when kappa is ~0
    peak_rps: float | None  # X(N*), or lambda/sigma (the asymptote) when kappa is ~0; None: no limit seen
    # False: the peak lies beyond twice the highest concurrency measured, an extrapolation to distrust.
    peak_within_data: bool
    data: list[tuple[float, float]] = Field(default_factory=list)  # (concurrency N, throughput X)

    def throughput_at(self, n: float) -> float:
        return float(usl_throughput(n, self.lambda_rps, self.sigma, self.kappa))


class BreakingRate(Contract):
    """The rate at which a hold-length step passes half the time, from every step of one search
    (harness.capacity.breaking), and where a rerun's estimate lands, unlike one run's bracket."""

    estimate_rps: float  # posterior median
    interval_rps: tuple[float, float]  # equal-tailed, at ``confidence``: where the breaking rate is
    # Where a rerun's estimate is expected, at ``confidence``: wider, since it has its own error.
    rerun_interval_rps: tuple[float, float]
    confidence: float
    hold_s: float  # the step length the rate refers to (the confirmation hold)
    # Posterior median of w: the breach hazard grows e-fold per w * estimate_rps req/s.
    transition_width: float
    trials: int  # steps used: those that passed or failed (inconclusive ones observed neither)

    def pass_probability(self, rate_rps: float, estimate_rps: float | None = None) -> float:
        """Chance a hold-length step at ``rate_rps`` passes, on the model of harness.capacity.breaking
        (at the posterior median width; ``estimate_rps`` moves the breaking rate, e.g. to an interval end)."""
        r50 = estimate_rps or self.estimate_rps
        exponent = min((rate_rps - r50) / (self.transition_width * r50), 50.0)
        return math.exp(-math.log(2) * math.exp(exponent))

    def rerun_covers(self, estimate_rps: float) -> bool:
        """Whether another run's estimate lies where a rerun of this one lands: a difference within it
        is noise, one beyond it a real change."""
        low, high = self.rerun_interval_rps
        return low <= estimate_rps <= high


class ReplicaPlan(Contract):
    """Replicas one peak needs at one search's capacity, and what they cost when a price was given."""

    peak_qps: float
    headroom: float
    replicas: int
    replicas_at_interval_low: int | None = None  # if a replica holds only the breaking interval's low end
    cost: float | None = None  # replicas x cost_per_replica, in the run's cost_unit


class SearchResult(Contract):
    """One search for the highest rate that meets the SLO, e.g. for one uvicorn worker count."""

    name: str
    workers: int | None = None
    llm_extra_latency_s: float = 0.0
    seed_rps: float  # the throughput estimate the search started from (it probes above it too)
    # The closed-loop probe's best throughput: how fast the machine ran the service at this run's
    # start. Reruns whose probes differ by more than ~10% ran on a different machine state.
    probe_rps: float | None = None
    seed_method: str
    tolerance: float  # relative: the search stops when (fail - pass) / pass <= tolerance
    confidence: float
    # The answer: the highest passing rate, and the lowest failing one above it.
    max_sustainable_rps: float | None  # = last pass, the conservative lower end of the bracket
    bracket_rps: tuple[float | None, float | None]  # [last pass, first fail]
    bracket_width: float | None  # (first fail - last pass) / last pass
    converged: bool  # the bracket reached the tolerance (False: the step or time budget ran out)
    # The answer also passed a step twice the usual length (False: no time left to confirm it).
    confirmed: bool = False
    # Where the SLO breaks, with an interval that covers what reruns find; None without both a pass
    # and a fail.
    breaking: BreakingRate | None = None
    peak_rss_bytes: int | None = None
    knee: Knee | None = None
    usl: USLFit | None = None
    usl_error: str | None = None  # why no fit (too few points, did not converge)
    # Share of requests made to miss the response cache in this search (None: written before it was kept).
    fresh_share: float | None = None
    plans: list[ReplicaPlan] = Field(default_factory=list)  # one per peak asked (--peak-qps)
    elapsed_s: float
    notes: list[str] = Field(default_factory=list)


class Recommendation(Contract):
    peak_qps: float
    headroom: float  # multiply the peak by this before dividing by one replica's capacity
    per_replica_rps: float  # the lower bound used: the last passing rate of the chosen search
    per_replica_source: str  # which search it came from
    replicas: int
    # Replicas if one holds only the lower end of the breaking rate's interval.
    replicas_at_interval_low: int | None = None
    memory_per_replica_bytes: int | None
    assumptions: list[str]
    plans: list[ReplicaPlan] = Field(default_factory=list)  # every peak asked, this one first


class WhatIf(Contract):
    """Capacity if one thing changed (a slower model, another cache-hit ratio, more workers), against
    the baseline search."""

    search: str | None = None  # the search that measured it (None: written before it was kept)
    baseline: str | None = None  # the search it is compared with
    llm_extra_latency_s: float = 0.0
    fresh_share: float | None = None
    workers: int | None = None
    method: str
    baseline_rps: float | None
    max_sustainable_rps: float | None
    change: float | None  # relative: -0.3 = 30% less capacity
    # A what-if that held no rate while the baseline held one: its capacity is below the lowest rate at
    # which one of its steps failed outright (inconclusive ones prove nothing), so the change is at most
    # ``change_at_most`` (relative, e.g. -0.7: a drop of at least 70%).
    failed_from_rps: float | None = None
    change_at_most: float | None = None
    # Breaking rates compared: True when the what-if's lies outside the baseline's rerun interval (a real
    # change), False when inside (within what a rerun moves), None without both breaking rates.
    beyond_rerun_interval: bool | None = None
    breaking_change: float | None = None  # relative change of the breaking rate's estimate
    replicas: int | None


class CapacityResult(VersionedModel):
    FILE_NAME = "capacity.json"

    slo_p99_s: float
    slo_error_rate: float
    confidence: float
    mode: str  # "quick" or "full"
    target_url: str
    started: float
    ended: float
    # The headline: the search the recommendation uses (one worker count), repeated here.
    max_sustainable_rps: float | None
    bracket_rps: tuple[float | None, float | None]
    breaking: BreakingRate | None = None  # that search's breaking rate and interval
    summary: str
    steps: list[CapacityStep] = Field(default_factory=list)
    searches: list[SearchResult] = Field(default_factory=list)
    recommendation: Recommendation | None = None
    what_if: list[WhatIf] = Field(default_factory=list)
    # The plan's inputs, kept so a report can state them: peaks (--peak-qps), headroom, price per replica.
    peaks_qps: list[float] = Field(default_factory=list)
    headroom: float | None = None
    cost_per_replica: float | None = None
    cost_unit: str = ""
    notes: list[str] = Field(default_factory=list)
