"""The answer of a capacity run from its searches: replica plans per peak, what-ifs against the
baseline, the recommendation, notes and the one-line summary; saved as ``capacity.json``."""

from __future__ import annotations

import time

from harness.capacity.breaking import METHOD
from harness.capacity.plan import recommend, replicas_needed
from harness.capacity.settings import CapacitySettings
from harness.schemas.capacity import (
    BreakingRate,
    CapacityResult,
    CapacityStep,
    ReplicaPlan,
    SearchResult,
    StepOutcome,
    WhatIf,
)
from harness.schemas.checklist import Checklist
from harness.schemas.run import RunFolder


def fmt_rps(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


def breaking_text(breaking: BreakingRate | None) -> str:
    if breaking is None:
        return ""
    (low, high), (rerun_low, rerun_high) = breaking.interval_rps, breaking.rerun_interval_rps
    return (f"; breaks at {fmt_rps(breaking.estimate_rps)} req/s ({breaking.confidence:.0%}: "
            f"{fmt_rps(low)}-{fmt_rps(high)}; a rerun's estimate: "
            f"{fmt_rps(rerun_low)}-{fmt_rps(rerun_high)})")


def replica_plans(search: SearchResult, settings: CapacitySettings) -> list[ReplicaPlan]:
    """Replicas for every peak asked at this search's capacity; [] without a passing rate."""
    per_replica = search.max_sustainable_rps
    if not per_replica:
        return []
    plans = []
    for peak in settings.peak_qps:
        replicas = replicas_needed(peak, settings.headroom, per_replica)
        low = (replicas_needed(peak, settings.headroom, search.breaking.interval_rps[0])
               if search.breaking else None)
        cost = replicas * settings.cost_per_replica if settings.cost_per_replica else None
        plans.append(ReplicaPlan(peak_qps=peak, headroom=settings.headroom, replicas=replicas,
                                 replicas_at_interval_low=low, cost=cost))
    return plans


def _method(search: SearchResult, baseline: SearchResult) -> str:
    if search.llm_extra_latency_s:
        return (f"fault API: PUT /admin/faults llm_delay_s={search.llm_extra_latency_s:g} on every LLM "
                f"call of the '{baseline.name}' target; a delay beyond the service's LLM timeout makes "
                f"every answer degraded, which counts as an error when degraded_is_error is set")
    if search.fresh_share != baseline.fresh_share:
        return (f"the load generator made {search.fresh_share:.0%} of requests miss the response cache "
                f"(baseline {baseline.fresh_share:.0%}) on the '{baseline.name}' target")
    return f"the service restarted with {search.workers} uvicorn worker(s) (baseline {baseline.workers})"


def lowest_failed_rps(search: SearchResult, steps: list[CapacityStep]) -> float | None:
    """The lowest rate at which a step of ``search`` failed outright (not inconclusive)."""
    return min((s.rate_rps for s in steps if s.search == search.name and s.outcome == StepOutcome.failed),
               default=None)


def what_if(search: SearchResult, baseline: SearchResult, settings: CapacitySettings,
            steps: list[CapacityStep]) -> WhatIf:
    """``search`` against ``baseline``; a breaking rate outside the baseline's rerun interval is real."""
    base, now = baseline.max_sustainable_rps, search.max_sustainable_rps
    failed_from = lowest_failed_rps(search, steps) if now is None and base else None
    beyond = breaking_change = None
    if search.breaking and baseline.breaking:
        beyond = not baseline.breaking.rerun_covers(search.breaking.estimate_rps)
        breaking_change = search.breaking.estimate_rps / baseline.breaking.estimate_rps - 1
    elif failed_from and baseline.breaking:
        # Failing below where a rerun of the baseline would put its breaking rate is no rerun's noise.
        beyond = failed_from < baseline.breaking.rerun_interval_rps[0]
    return WhatIf(
        search=search.name, baseline=baseline.name, llm_extra_latency_s=search.llm_extra_latency_s,
        fresh_share=search.fresh_share, workers=search.workers, method=_method(search, baseline),
        baseline_rps=base, max_sustainable_rps=now,
        change=(now - base) / base if base and now is not None else None,
        failed_from_rps=failed_from, change_at_most=failed_from / base - 1 if failed_from and base else None,
        beyond_rerun_interval=beyond, breaking_change=breaking_change,
        replicas=replicas_needed(settings.peak_qps[0], settings.headroom, now)
        if settings.peak_qps and now else None)


def _notes(settings: CapacitySettings, searches: list[SearchResult]) -> list[str]:
    notes = ["the confidence stated per step covers that step's sampling noise only; near capacity a "
             "step passes or fails by chance, so one run's bracket is narrower than the spread between "
             "reruns, which the breaking rate's rerun interval states", METHOD]
    probes = ", ".join(f"{s.name} {s.probe_rps:.3g}" for s in searches if s.probe_rps)
    notes.append(f"closed-loop probe throughput (probe_rps): {probes or 'none'} req/s. A rerun whose probe "
                 f"differs by more than ~10% ran on a faster or slower machine (steal_percent per step shows "
                 f"CPU the host gave to other guests): its answer can fall outside this run's interval")
    notes.append("a CPU-bound service shares the machine with the load generator (and anything else "
                 "running, see load_average), and a response cache warms as the search goes unless "
                 "fresh_share is 1")
    notes.append(f"each step waited for the target's requests in flight to drain before starting "
                 f"(drain_wait_s); P99 bounds are one-sided at {settings.confidence:.0%} each; an "
                 f"inconclusive step is re-measured twice as long, and counted as a failure if it stays so")
    if not settings.strict_errors:
        notes.append("a step passes the error-rate SLO on its point estimate unless its lower bound is above "
                     "the SLO; error_rate_ci shows how far each step proves it (strict_errors demands more)")
    return notes


def _what_ifs(searches: list[SearchResult], settings: CapacitySettings,
              steps: list[CapacityStep]) -> list[WhatIf]:
    """Every search against the first one (the baseline): slower models, cache shares, worker counts."""
    if not searches:
        return []
    return [what_if(s, searches[0], settings, steps) for s in searches[1:]]


def finish(settings: CapacitySettings, checklist: Checklist, searches: list[SearchResult],
           steps: list[CapacityStep], notes: list[str], target_url: str, started: float,
           folder: RunFolder) -> CapacityResult:
    for search in searches:
        search.plans = replica_plans(search, settings)
    baselines = [s for s in searches if s.llm_extra_latency_s == 0 and s.fresh_share == settings.fresh_share]
    best = max(baselines, key=lambda s: s.max_sustainable_rps or 0.0, default=None)
    slo_text = f"P99 < {checklist.slo_p99_s:g} s, errors < {checklist.slo_error_rate:.2%}"
    rec = None
    if best is not None and settings.peak_qps:
        rec = recommend(best, peak_qps=settings.peak_qps[0], headroom=settings.headroom, slo_text=slo_text)
        if rec is not None:
            rec.plans = best.plans
            if best.workers:
                rec.assumptions.append(f"a replica runs {best.workers} uvicorn worker(s), as in the search, "
                                       f"with the cores that needs")
    elif not settings.peak_qps:
        notes.append("no --peak-qps given: no replica count")
    parts = [f"{s.name}: {fmt_rps(s.max_sustainable_rps)} req/s [{fmt_rps(s.bracket_rps[0])}, "
             f"{fmt_rps(s.bracket_rps[1])}]{breaking_text(s.breaking)}" for s in searches]
    if rec is not None:
        parts.append(", ".join(f"{p.replicas} replica(s) for {p.peak_qps:g} req/s" for p in rec.plans)
                     + f" at {rec.headroom:g}x headroom")
    result = CapacityResult(
        slo_p99_s=checklist.slo_p99_s, slo_error_rate=checklist.slo_error_rate,
        confidence=settings.confidence, mode=settings.mode, target_url=target_url, started=started,
        ended=time.time(), max_sustainable_rps=best.max_sustainable_rps if best else None,
        bracket_rps=best.bracket_rps if best else (None, None), breaking=best.breaking if best else None,
        summary="; ".join(parts), steps=steps, searches=searches, recommendation=rec,
        what_if=_what_ifs(searches, settings, steps), peaks_qps=settings.peak_qps, headroom=settings.headroom,
        cost_per_replica=settings.cost_per_replica,
        cost_unit=settings.cost_unit if settings.cost_per_replica else "",
        notes=[*notes, *_notes(settings, searches)])
    result.save_file(folder.capacity)
    return result
