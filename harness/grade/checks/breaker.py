"""The resilience check: the circuit breaker opens under the LLM slowdown and closes after it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.grade.context import GradeContext
from harness.grade.queries import PromQL
from harness.grade.requests_log import phase_rows
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.verdict import ItemResult, ItemStatus, Window


def breaker_cycle(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Under the LLM slowdown the breaker must open (2), then close (0) after the fault; the value is
    the seconds from the fault's end until it closed for good."""
    if ctx.timeline is None or not item.scenario:
        raise NoData("no timeline: the fault scenario did not run")
    try:
        run = ctx.timeline.scenario(item.scenario)
        fault, recovery = run.phase("fault"), run.phase("recovery")
    except KeyError as exc:
        raise NoData(str(exc.args[0])) from None
    if fault.end is None or recovery.end is None:
        raise NoData(f"scenario {item.scenario} did not finish its fault and recovery phases")
    window = Window(scenario=item.scenario, phase="fault+recovery", start=fault.start, end=recovery.end)
    ctx.scrape_gaps(window)
    prom = ctx.require_prom()
    query = PromQL.breaker(ctx.job)
    series = prom.range(query, fault.start, recovery.end, prom.scrape_interval_s(ctx.job) or 1.0)
    if not series:
        raise NoData("no agent_circuit_breaker_state series during the fault", query=query, window=window)
    t = np.array([p[0] for p in series[0][1]])
    state = np.array([p[1] for p in series[0][1]])
    evidence: dict[str, Any] = {"max_state": float(state.max()), "degraded_recovery_s": _degraded_recovery(
        ctx, item.scenario, fault.end)}
    fields = {"window": window, "query": query, "samples": len(t), "evidence": evidence}
    if not (state[t <= fault.end + 5] >= 2).any():
        return make_result(item, ItemStatus.failed, "the breaker never opened while the LLM was slow",
                           **fields)
    last_open = t[np.nonzero(state != 0)[0][-1]]
    if state[-1] != 0:
        still = "open" if state[-1] >= 2 else "half-open"
        return make_result(item, ItemStatus.failed, f"the breaker was still {still}"
                           f" {recovery.end - fault.end:.0f} s after the fault ended", **fields)
    closed_at = t[t > last_open][0]
    recovery_s = max(0.0, float(closed_at - fault.end))
    status, reason = judge(item, recovery_s, None)
    return make_result(item, status, f"opened during the fault, closed {recovery_s:.1f} s after it ended: "
                       f"{reason}", value=recovery_s, **fields)


def _degraded_recovery(ctx: GradeContext, scenario: str, fault_end: float) -> float | None:
    """Seconds after the fault until the client saw its last degraded answer (None without a log)."""
    frame = ctx.request_log(scenario)
    if frame is None:
        return None
    after = phase_rows(frame, "recovery", (fault_end, float("inf")))
    degraded = after[after["degraded"]]
    return float(degraded["intended_start"].max() - fault_end) if len(degraded) else 0.0
