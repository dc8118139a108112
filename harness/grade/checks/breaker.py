"""``circuit_breaker``: did the breaker open under the LLM fault and close after it?

Two views. **Behaviour** (needs the LLM fault proxy, ``upstream_calls.json``): a breaker shows as
upstream calls falling to a trickle (half-open probes) while answers keep coming, and as calls
returning to most cache misses after the fault. Cache hits never reach the LLM, so calls are
compared with the client's requests that missed the cache, second by second, over a sliding window
of ``HOLD_S`` seconds (so the closing time is exact to about a second: the first window with 80% of
its seconds closed starts up to one second before the calls came back). **Gauge** (the service
exports one, e.g. the bundled ``agent_circuit_breaker_state``): its open and closed values over the
same phases. When both exist
they must agree; a disagreement fails the item, since one of the two views is wrong.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.grade import stops
from harness.grade.context import GradeContext
from harness.grade.requests_log import phase_rows
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.faults import UpstreamCalls
from harness.schemas.params import BreakerParams
from harness.schemas.timeline import Phase, ScenarioStop
from harness.schemas.verdict import ItemResult, ItemStatus, Window

OPEN_SHARE = 0.10  # upstream calls / cache misses at most this: the breaker lets only probes through
CLOSED_SHARE = 0.80  # at least this: calls follow misses again
HOLD_S = 5  # "for several seconds": the sliding window both shares are measured over
MIN_MISSES = 10  # misses a window needs before its share means anything
SERVED_SHARE = 0.90  # while open, the service keeps answering fast: this share served within the bound


@dataclass
class View:
    opened: bool
    opened_after_s: float | None  # from the fault's start
    closed_after_s: float | None  # from the fault's end; None: not closed by the end of recovery
    max_state: float | None = None  # the gauge's highest value (gauge view only)


def _phases(ctx: GradeContext, item: ChecklistItem) -> tuple[Phase, Phase | None]:
    """The fault phase and the recovery after it; no recovery when the service failed in the fault
    and stopped the scenario (that failure is the breaker's verdict, see ``_stalled``)."""
    if not item.scenario:
        raise NoData(f"item {item.id} names no fault scenario")
    run = ctx.scenario_ran(item.scenario)  # one that failed to start (its fault had nowhere to go) says so
    try:
        fault = run.phase("fault")
    except KeyError as exc:
        raise NoData(str(exc.args[0])) from None
    recovery = next((p for p in run.phases if p.name == "recovery"), None)
    if fault.end is not None and recovery is not None and recovery.end is not None:
        return fault, recovery
    if fault.end is not None and stops.service_stop(ctx, item.scenario, "fault") is not None:
        return fault, None
    has = f" (has {[p.name for p in run.phases]})" if recovery is None else ""
    why = f": {run.stop.reason}" if run.stop else has
    raise NoData(f"scenario {item.scenario} did not finish its fault and recovery phases{why}")


def _per_second(times: np.ndarray, start: float, seconds: int) -> np.ndarray:
    return np.histogram(times, bins=np.arange(seconds + 1) + start)[0]


def behaviour_view(frame: pd.DataFrame, calls: UpstreamCalls, fault: Phase, recovery: Phase | None,
                   answer_within_s: float) -> tuple[View, dict[str, Any]]:
    """The breaker as the wire saw it, and the per-second evidence. An agent that stops calling
    because it is stuck is not a breaker: while open, answers must come within ``answer_within_s``.
    Without a recovery (the scenario stopped in the fault) only the opening can be seen."""
    assert fault.end is not None
    end = recovery.end if recovery is not None and recovery.end is not None else fault.end
    seconds = int(end - fault.start)
    sent = frame["start"] if "start" in frame.columns else frame["intended_start"]
    misses = _per_second(sent[~frame["cached"]].to_numpy(float), fault.start, seconds)
    fast = (frame["status"] >= 200) & (frame["status"] < 300) & (frame["latency"] <= answer_within_s)
    served = _per_second(sent[fast].to_numpy(float), fault.start, seconds)
    requests = _per_second(sent.to_numpy(float), fault.start, seconds)
    upstream = _per_second(np.asarray(calls.llm_calls, float), fault.start, seconds)
    window = np.ones(HOLD_S)
    m, u = np.convolve(misses, window, "valid"), np.convolve(upstream, window, "valid")
    s, r = np.convolve(served, window, "valid"), np.convolve(requests, window, "valid")
    share = np.where(m >= MIN_MISSES, u / np.maximum(m, 1), np.nan)
    starts = np.arange(len(m))  # window i covers seconds [i, i + HOLD_S) after the fault's start
    fault_s = int(fault.end - fault.start)
    in_fault = starts + HOLD_S <= fault_s
    open_ok = in_fault & (share <= OPEN_SHARE) & (s >= SERVED_SHARE * np.maximum(r, 1))
    opened_at = float(starts[open_ok][0]) if open_ok.any() else None
    after = (starts >= fault_s) & (share >= CLOSED_SHARE)
    closed_at = float(starts[after][0] - fault_s) if after.any() else None
    evidence = {
        "misses_per_s": misses.tolist(), "upstream_calls_per_s": upstream.tolist(),
        "served_within_bound_share_in_fault": float(served[:fault_s].sum())
        / max(int(requests[:fault_s].sum()), 1),
        "min_share_during_fault": float(np.nanmin(share[in_fault])) if np.isfinite(share[in_fault]).any()
        else None,
        "rule": f"open: upstream calls <= {OPEN_SHARE:.0%} of cache misses over {HOLD_S} s while "
                f">= {SERVED_SHARE:.0%} of requests are served within {answer_within_s:g} s; closed: "
                f">= {CLOSED_SHARE:.0%} after the fault",
    }
    return View(opened_at is not None, opened_at, closed_at), evidence


def gauge_view(ctx: GradeContext, fault: Phase, end: float, window: Window) -> tuple[View, str] | None:
    """The service's breaker gauge from the fault's start to ``end``; None when it exports none."""
    breaker = ctx.metrics.breaker
    if ctx.prom is None or breaker is None:
        return None
    query = ctx.q.breaker(breaker)
    series = ctx.require_prom().range(query, fault.start, end, ctx.scrape_interval_s())
    if not series:
        return None
    ctx.scrape_gaps(window)
    assert fault.end is not None
    t = np.array([p[0] for p in series[0][1]])
    state = np.array([p[1] for p in series[0][1]])
    opened = (t <= fault.end + 5) & (state >= breaker.open)
    if not opened.any():
        return View(False, None, None, float(state.max())), query
    shut = np.nonzero(state != breaker.closed)[0]
    closed_after = None
    if state[-1] == breaker.closed:
        closed_after = max(0.0, float(t[t > t[shut[-1]]][0] - fault.end))
    return View(True, float(t[opened][0] - fault.start), closed_after, float(state.max())), query


def _outcome(item: ChecklistItem, view: View, recovery_s: float) -> tuple[ItemStatus, str, float | None]:
    if not view.opened:
        return ItemStatus.failed, "the breaker never opened while the LLM was faulty", None
    if view.closed_after_s is None:
        return ItemStatus.failed, f"the breaker had not closed {recovery_s:.0f} s after the fault ended", None
    status, reason = judge(item, view.closed_after_s, None)
    return status, (f"opened {view.opened_after_s:.0f} s into the fault, closed {view.closed_after_s:.1f} s "
                    f"after it ended: {reason}"), view.closed_after_s


def _disagreement(behaviour: View, gauge: View, recovery_s: float) -> str | None:
    closed = (behaviour.closed_after_s is not None, gauge.closed_after_s is not None)
    if closed == (False, True) and gauge.closed_after_s > recovery_s - HOLD_S:
        closed = (True, True)  # too late for HOLD_S seconds of calls to confirm or deny it
    if behaviour.opened != gauge.opened or closed[0] != closed[1]:
        return (f"the breaker gauge (opened={gauge.opened}, closed_after_s={gauge.closed_after_s}) and the "
                f"upstream calls (opened={behaviour.opened}, closed_after_s={behaviour.closed_after_s}) "
                "disagree")
    return None


Seen = tuple[View, dict[str, Any], int]  # a view, its evidence, and the requests it rests on


def _behaviour(ctx: GradeContext, item: ChecklistItem, fault: Phase, recovery: Phase | None,
               end: float) -> Seen | None:
    """(view, evidence, requests) from the upstream calls; None without the LLM fault proxy's record."""
    calls = ctx.upstream_calls(item.scenario)
    frame = ctx.request_log(item.scenario)
    if calls is None or not calls.llm_calls or frame is None:
        return None
    rows = phase_rows(frame, None, (fault.start, end))
    within = BreakerParams.of(item.params).answer_within_s or ctx.checklist.slo_p99_s
    view, evidence = behaviour_view(rows, calls, fault, recovery, within)
    evidence["behaviour"] = asdict(view)
    return view, evidence, int(len(rows))


def _stalled(item: ChecklistItem, stop: ScenarioStop, fault: Phase, window: Window,
             behaviour: Seen | None, gauge: tuple[View, str] | None) -> ItemResult:
    """The service failed under the LLM fault and stopped the scenario: whatever the views saw before
    the stop, no breaker kept it answering. What they saw is the evidence."""
    seen, evidence = [], {"stop": stop.model_dump(mode="json")}
    if behaviour is not None:
        view, found, _ = behaviour
        evidence.update(found)
        low, fast = found["min_share_during_fault"], found["served_within_bound_share_in_fault"]
        lowest = f" (lowest {low:.0%} of cache misses)" if low is not None else ""
        calls = (f"upstream calls fell to the probes of an open breaker {view.opened_after_s:.0f} s in"
                 if view.opened else f"upstream calls never fell to the probes of an open breaker{lowest}")
        seen.append(f"{calls}; {fast:.0%} of requests in the fault were served within the bound")
    if gauge is not None:
        evidence["gauge"] = asdict(gauge[0])
        seen.append(f"the breaker gauge opened {gauge[0].opened_after_s:.0f} s in" if gauge[0].opened
                    else "the breaker gauge never showed it open")
    into = (stop.since or stop.at) - fault.start
    reason = (f"the service failed {into:.0f} s into the LLM fault and the scenario was stopped "
              f"({stop.reason}): no breaker kept it answering")
    reason += ("; before the stop: " + "; ".join(seen)) if seen else ""
    return make_result(item, ItemStatus.failed, reason, window=window, evidence=evidence,
                       samples=behaviour[2] if behaviour else None, query=gauge[1] if gauge else None)


def breaker_cycle(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    fault, recovery = _phases(ctx, item)
    assert fault.end is not None and item.scenario
    end = recovery.end if recovery is not None and recovery.end is not None else fault.end
    window = Window(scenario=item.scenario, phase="fault+recovery" if recovery else "fault",
                    start=fault.start, end=end)
    gauge = gauge_view(ctx, fault, end, window)
    behaviour = _behaviour(ctx, item, fault, recovery, end)
    stop = stops.service_stop(ctx, item.scenario, None)
    if recovery is None and stop is not None:
        return _stalled(item, stop, fault, window, behaviour, gauge)
    recovery_s = end - fault.end
    if behaviour is None:
        if gauge is None:
            gauge_query = ctx.q.breaker(ctx.metrics.breaker) if ctx.metrics.breaker else None
            raise NoData("no breaker gauge (service.metrics.breaker), and no LLM fault proxy (--llm-proxy) "
                         "to see the breaker from the upstream calls", query=gauge_query, window=window)
        view, query = gauge
        status, reason, value = _outcome(item, view, recovery_s)
        return make_result(item, status, f"gauge: {reason}", value=value, window=window, query=query,
                           evidence={"gauge": asdict(view), "max_state": view.max_state})
    view, evidence, samples = behaviour
    status, reason, value = _outcome(item, view, recovery_s)
    reason = f"upstream calls vs cache misses: {reason}"
    if stop is not None:
        reason += f" (the scenario was stopped in its {stop.phase} phase: {stop.reason})"
    if gauge is not None:
        evidence["gauge"] = asdict(gauge[0])
        if (conflict := _disagreement(view, gauge[0], recovery_s)) is not None:
            status, reason = ItemStatus.failed, f"{conflict}: a finding; {reason}"
    else:
        evidence["gauge"] = "the service exports no breaker gauge"
    return make_result(item, status, reason, value=value, window=window, samples=samples, evidence=evidence)
