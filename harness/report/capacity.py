"""What a capacity run's page shows, from ``capacity.json`` alone: the answer in one headline, the
charts, every step, the searches side by side (worker counts and what-ifs), replica plans per peak,
the assumptions, and the method notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.report import capacity_charts as cc
from harness.report.fmt import fmt_change, fmt_duration, fmt_value
from harness.schemas.capacity import CapacityResult, CapacityStep, SearchResult, StepOutcome, WhatIf
from harness.schemas.run import RunInfo


@dataclass
class Cell:
    """A table cell: its text, and the number it shows (kept on the page, so a test can compare)."""

    text: str
    value: float | int | str | None = None
    key: str = ""
    numeric: bool = True


@dataclass
class StepRow:
    step: CapacityStep
    cells: list[Cell] = field(default_factory=list)


STEP_COLUMNS = ("Search", "#", "Offered", "Hold", "Achieved", "P50", "P95", "P99", "Errors", "Error rate",
                "Outcome", "Drain wait", "Load avg", "Other CPU")


def rps(value: float | None) -> str:
    return fmt_value(value, "req/s")


def rps_range(low: float | None, high: float | None) -> str:
    if high is None:  # a bracket with one end: nothing failed, or nothing passed
        return f"{rps(low)} and up" if low is not None else "—"
    if low is None:
        return f"below {rps(high)}"
    return f"{fmt_value(low)}–{rps(high)}"


def step_cells(step: CapacityStep) -> list[Cell]:
    return [
        Cell(step.search, step.search, "search", numeric=False),
        Cell(str(step.index), step.index, "index"),
        Cell(rps(step.rate_rps), step.rate_rps, "rate_rps"),
        Cell(fmt_value(step.duration_s, "s"), step.duration_s, "duration_s"),
        Cell(rps(step.achieved_rps), step.achieved_rps, "achieved_rps"),
        Cell(fmt_value(step.p50_s, "s"), step.p50_s, "p50_s"),
        Cell(fmt_value(step.p95_s, "s"), step.p95_s, "p95_s"),
        Cell(fmt_value(step.p99_s, "s"), step.p99_s, "p99_s"),
        Cell(f"{step.errors} / {step.requests}", step.errors, "errors"),
        Cell(fmt_value(step.error_rate, "ratio"), step.error_rate, "error_rate"),
        Cell(step.outcome.value, step.outcome.value, "outcome", numeric=False),
        Cell(fmt_value(step.drain_wait_s, "s") + ("" if step.drained else " (not drained)"),
             step.drain_wait_s, "drain_wait_s"),
        Cell(fmt_value(step.load_average), step.load_average, "load_average"),
        Cell(fmt_value(step.other_cpu_cores), step.other_cpu_cores, "other_cpu_cores"),
    ]


def step_rows(result: CapacityResult) -> list[StepRow]:
    """Every step, grouped by search in search order, each search's steps in the order they ran."""
    order = {s.name: n for n, s in enumerate(result.searches)}
    steps = sorted(result.steps, key=lambda s: (order.get(s.search, len(order)), s.index))
    return [StepRow(s, step_cells(s)) for s in steps]


def chosen_search(result: CapacityResult) -> SearchResult | None:
    """The search the answer comes from: the recommendation's, else the best baseline, else the first."""
    by_name = {s.name: s for s in result.searches}
    if result.recommendation and result.recommendation.per_replica_source in by_name:
        return by_name[result.recommendation.per_replica_source]
    same = [s for s in result.searches if s.max_sustainable_rps == result.max_sustainable_rps]
    return same[0] if same else (result.searches[0] if result.searches else None)


def confirmed_hold_s(result: CapacityResult, search: SearchResult) -> float | None:
    """The longest step that passed at the answer's rate: how long the answer was seen to hold."""
    held = [s.duration_s for s in result.steps if s.search == search.name and s.outcome == StepOutcome.passed
            and s.rate_rps == search.max_sustainable_rps]
    return max(held, default=None)


def slo_text(result: CapacityResult) -> str:
    return f"P99 < {fmt_value(result.slo_p99_s, 's')}, errors < {fmt_value(result.slo_error_rate, 'ratio')}"


def _joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def plan_sentence(result: CapacityResult, search: SearchResult) -> str:
    rec = result.recommendation
    if not search.plans and rec and rec.per_replica_source == search.name:  # capacity.json before plans
        return f"{rec.replicas} replica(s) for peak {rps(rec.peak_qps)} at headroom {rec.headroom:g}x"
    if not search.plans:
        return ("no replica plan: no peak was given (--peak-qps)" if not result.peaks_qps
                else "no replica plan: no rate met the SLO")
    text = (f"{_joined([str(p.replicas) for p in search.plans])} replica(s) for "
            f"peak{'s' if len(search.plans) > 1 else ''} {_joined([rps(p.peak_qps) for p in search.plans])} "
            f"at headroom {search.plans[0].headroom:g}x")
    costs = [p.cost for p in search.plans if p.cost is not None]
    if costs:
        text += f", costing {_joined([f'{c:,.4g}' for c in costs])} {result.cost_unit}"
    return text


def _errors_of(step: CapacityStep) -> str:
    """What a step failed on, short: its errors by kind, and its P99 when that alone breaks the SLO."""
    parts = []
    if step.errors:
        kinds = ", ".join(f"{k} x{v}" for k, v in step.error_kinds.items())
        parts.append(f"{step.errors} of {step.requests} requests were errors{': ' + kinds if kinds else ''}")
    if step.degraded_reasons:
        parts.append("the service's fallback answers: "
                     + ", ".join(f"{k} x{v}" for k, v in step.degraded_reasons.items()))
    if step.p99_s is not None:
        parts.append(f"P99 {fmt_value(step.p99_s, 's')}")
    return f" ({'; '.join(parts)})" if parts else ""


def _lowest_steps(name: str, steps: list[CapacityStep]) -> str:
    """A search that held nothing: its lowest step and what it failed on; when that step observed
    neither (too few samples for a bound), also the lowest step that failed."""
    low = min(steps, key=lambda s: s.rate_rps)
    if low.outcome == StepOutcome.failed:
        return f"{name}: even {rps(low.rate_rps)}, its lowest step, failed{_errors_of(low)}."
    why = low.reason.split(";")[0]
    line = f"{name}: its lowest step, {rps(low.rate_rps)}, was {low.outcome.value} ({why})"
    failed = [s for s in steps if s.outcome == StepOutcome.failed]
    if failed:
        low_fail = min(failed, key=lambda s: s.rate_rps)
        line += f"; {rps(low_fail.rate_rps)}, the lowest that failed, failed{_errors_of(low_fail)}"
    return line + "."


def _nothing_held(result: CapacityResult) -> list[str]:
    """No search found a passing rate: each search's lowest steps and what they failed on."""
    lines = [f"No rate met the SLO ({slo_text(result)})."]
    for search in result.searches:
        steps = [s for s in result.steps if s.search == search.name]
        if steps and search.max_sustainable_rps is None:
            lines.append(_lowest_steps(search.name, steps))
    if any("degraded" in s.error_kinds for s in result.steps):
        lines.append("A degraded answer is the service answering without its LLM (a fallback after an LLM "
                     "timeout or with its circuit breaker open); it counts as an error.")
    return lines


def headline(result: CapacityResult) -> list[str]:
    """The answer, in the words of the issue: holds X (confirmed for H s); breaks near Y (a-b); N replicas."""
    search = chosen_search(result)
    if not result.steps:
        why = [n for s in result.searches for n in s.notes] or result.notes[:1]
        return [f"No step was measured, so there is no answer{': ' + why[0] if why else ''}."]
    if search is None or search.max_sustainable_rps is None:
        return _nothing_held(result)
    hold = confirmed_hold_s(result, search)
    held = (f"confirmed for {fmt_duration(hold)}" if search.confirmed and hold
            else f"not confirmed by a long hold; the longest passing step was {fmt_duration(hold)}")
    lines = [f"One replica ({search.name}) holds {rps(search.max_sustainable_rps)} at the SLO "
             f"({slo_text(result)}), {held}."]
    br = search.breaking
    if br:
        lines.append(f"It breaks near {rps(br.estimate_rps)} ({br.confidence:.0%}: "
                     f"{rps_range(*br.interval_rps)}; a rerun's estimate lands in "
                     f"{rps_range(*br.rerun_interval_rps)}).")
    plan = plan_sentence(result, search)
    lines.append(plan[0].upper() + plan[1:] + ".")
    return lines


def machine_lines(result: CapacityResult, run: RunInfo | None) -> list[str]:
    """What ran the service: its LLM as the readiness answer named it at start (a simulated model's
    capacity is not the real model's), and how busy the machine was (a CPU-bound service measured
    beside other work shows what the machine had left, not its own capacity)."""
    lines = []
    llm = (run.service_readiness or {}).get("llm") if run else None
    if isinstance(llm, dict) and llm.get("backend"):
        where = " ".join(str(llm[k]) for k in ("device", "dtype") if llm.get(k))
        model = f", model {llm['model']}" if llm.get("model") else ""
        lines.append(f"Service LLM: {llm['backend']}{model}" + (f", on {where}" if where else "")
                     + (": a simulated model (a sleep per token, no CPU), so these rates are not the real "
                        "model's" if "simulat" in str(llm["backend"]).lower() else "") + ".")
    lines.extend(_busy_lines(result, run.machine.cores if run else None))
    return lines


# Cores taken by processes outside the run above which a step's rate is what the machine had left.
BUSY_OTHER_CORES = 0.25


def _busy_lines(result: CapacityResult, cores: int | None) -> list[str]:
    """Whether the service had the machine: from the CPU other processes took during the steps; a run
    recorded before that was kept falls back to the load average (the run's own load included)."""
    if not cores:
        return []
    others = [s.other_cpu_cores for s in result.steps if s.other_cpu_cores is not None]
    loads = [s.load_average for s in result.steps if s.load_average is not None]
    busy = [s for s in result.steps if (s.other_cpu_cores or 0.0) > BUSY_OTHER_CORES]
    if busy:
        searches = ", ".join(dict.fromkeys(s.search for s in busy))
        return [f"The machine was busy: processes outside this run kept up to {max(others):.2f} of its "
                f"{cores} cores busy, over {BUSY_OTHER_CORES:g} in {len(busy)} of {len(others)} steps "
                f"({searches}), CPU the service needed; those steps' rates are what the machine had left "
                f"then, not the service's capacity on a machine of its own."]
    if others:
        return [f"The machine was the run's own: processes outside it used at most {max(others):.2f} of "
                f"its {cores} cores during any step."]
    if loads and max(loads) > cores:
        return [f"The machine was busy: its 1-minute load average was {min(loads):.1f}–{max(loads):.1f} "
                f"over the steps on {cores} cores (the service and the load generator included), so "
                f"other processes may have taken CPU the service needed; these rates may be what the machine "
                f"had left then, not the service's capacity on a machine of its own."]
    return []


def what_changed(search: SearchResult, baseline: SearchResult | None) -> str:
    parts = []
    if search.llm_extra_latency_s:
        parts.append(f"LLM +{search.llm_extra_latency_s:g} s")
    if baseline and search.fresh_share is not None and search.fresh_share != baseline.fresh_share:
        parts.append(f"{search.fresh_share:.0%} cache-missing requests")
    if baseline and search.workers != baseline.workers:
        parts.append(f"{search.workers} worker(s)")
    return ", ".join(parts) or ("baseline" if search is baseline else "same settings")


def verdict_of_change(what_if: WhatIf | None) -> str:
    if what_if is None or what_if.beyond_rerun_interval is None:
        return "—"
    return "real" if what_if.beyond_rerun_interval else "noise"


def _holds(rate: float | None, search: SearchResult) -> str:
    if rate is not None:
        return rps(rate)
    below = search.bracket_rps[1]
    return "no rate shown to hold" + (f" (every step from {rps(below)} up failed or stayed inconclusive)"
                                      if below is not None else "")


def what_if_sentence(what_if: WhatIf, search: SearchResult, baseline: SearchResult) -> str:
    if what_if.max_sustainable_rps is None and what_if.baseline_rps is None:
        return (f"{what_changed(search, baseline)}: no answer, neither this search nor the baseline "
                f"found a passing rate.")
    change = f" ({fmt_change(what_if.change)})" if what_if.change is not None else ""
    beyond = {True: "beyond the baseline's rerun interval: a real change",
              False: "within the baseline's rerun interval: no more than a rerun moves"}
    moved = ""
    if what_if.beyond_rerun_interval is not None and search.breaking and baseline.breaking:
        moved = (f"; the breaking rate moves {fmt_change(what_if.breaking_change)}, from "
                 f"{rps(baseline.breaking.estimate_rps)} to {rps(search.breaking.estimate_rps)}, "
                 f"{beyond[what_if.beyond_rerun_interval]}")
    holds = _holds(what_if.max_sustainable_rps, search)
    subject = f"one replica holds {holds}" if what_if.max_sustainable_rps is not None else holds
    if what_if.change_at_most is not None and what_if.failed_from_rps is not None:
        change = (f": it holds less than {rps(what_if.failed_from_rps)}, where its steps failed, a drop of "
                  f"more than {-what_if.change_at_most:.0%}")
    return (f"{what_changed(search, baseline)}: {subject} "
            f"vs {_holds(what_if.baseline_rps, baseline)}{change}{moved}.")


def _change_text(what_if: WhatIf | None) -> str:
    """The held rate's change; without one, the breaking rate's (a search where nothing held)."""
    if what_if is None:
        return "—"
    if what_if.change is not None:
        return fmt_change(what_if.change)
    if what_if.change_at_most is not None:
        return f"{fmt_change(what_if.change_at_most)} or worse"
    return f"{fmt_change(what_if.breaking_change)} breaking" if what_if.breaking_change is not None else "—"


def search_rows(result: CapacityResult) -> list[dict[str, Any]]:
    """One row per search: the comparison table of worker counts and what-ifs."""
    baseline = result.searches[0] if result.searches else None
    by_search = {w.search: w for w in result.what_if if w.search}
    rows = []
    for search in result.searches:
        what_if = by_search.get(search.name)
        br = search.breaking
        rows.append({
            "search": search, "changed": what_changed(search, baseline), "what_if": what_if,
            "holds": rps(search.max_sustainable_rps) if search.max_sustainable_rps is not None else "none",
            "bracket": rps_range(*search.bracket_rps),
            "breaks": rps(br.estimate_rps) if br else "—",
            "interval": rps_range(*br.interval_rps) if br else "—",
            "rerun": rps_range(*br.rerun_interval_rps) if br else "—",
            "change": _change_text(what_if),
            "real": verdict_of_change(what_if),
            "sentence": what_if_sentence(what_if, search, baseline) if what_if and baseline else "",
            "plans": {p.peak_qps: p for p in search.plans},
        })
    return rows


def capacity_charts(result: CapacityResult) -> dict[str, Any]:
    sources = cc.sources_of(result)
    return {
        "answer": [cc.throughput_chart(sources), cc.breaking_chart(sources), cc.usl_chart(sources)],
        "latency": [cc.latency_chart(src, result.slo_p99_s, f"latency-{n}") for n, src in enumerate(sources)],
        "overlay": cc.p99_overlay(sources, result.slo_p99_s) if len(sources) > 1 else None,
    }


def capacity_view(result: CapacityResult, run: RunInfo | None = None) -> dict[str, Any]:
    search = chosen_search(result)
    return {
        "result": result,
        "headline": headline(result),
        "machine": machine_lines(result, run),
        "slo": slo_text(result),
        "charts": capacity_charts(result),
        "columns": STEP_COLUMNS,
        "steps": step_rows(result),
        "searches": search_rows(result),
        "peaks": result.peaks_qps,
        "assumptions": result.recommendation.assumptions if result.recommendation else [],
        "notes": [*result.notes, *(f"{s.name}: {n}" for s in result.searches for n in s.notes)],
        "chosen": search,
    }
