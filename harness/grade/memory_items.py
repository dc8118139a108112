"""``memory_per_request``: the whole run's leak estimate (harness.grade.leak) from Prometheus."""

from __future__ import annotations

import numpy as np

from harness.grade.context import GradeContext
from harness.grade.leak import aligned, blocks_of, leak_per_request
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.params import MemoryPerRequestParams
from harness.schemas.timeline import ScenarioStatus
from harness.schemas.verdict import ItemResult, Window

KB = 1024.0


def _scenarios(ctx: GradeContext) -> list[tuple[str, Window]]:
    """Every scenario that ran, with its window: the leak fit's blocks. `loadgate check`: one window."""
    if ctx.window_override is not None:
        return [("window", ctx.window_override)]
    ran = [(s.name, Window(start=s.start, end=s.end or s.start))
           for s in (ctx.timeline.scenarios if ctx.timeline else [])
           if s.status != ScenarioStatus.failed and s.end and s.end > s.start]
    if not ran:
        raise NoData("no scenario ran: no load to relate memory to")
    return ran


def memory_per_request(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    scenarios = _scenarios(ctx)
    # The whole run, first scenario's start to the last one's end: every scenario's load.
    window = Window(start=min(w.start for _, w in scenarios), end=max(w.end for _, w in scenarios))
    ctx.scrape_gaps(window)
    prom = ctx.require_prom()
    params = MemoryPerRequestParams.of(item.params)
    memory, counter = ctx.metrics.memory, ctx.metrics.requests
    if memory is None or counter is None:
        raise NoData("the service profile maps no memory series or no request counter "
                     "(service.metrics.memory, service.metrics.requests)", window=window)
    step = ctx.scrape_interval_s()
    rss_q = ctx.q.gauge(memory)
    # Served requests: the profile's served matcher, else everything that is not an error.
    served_q = (f"sum({counter.name}{{{ctx.q.sel(counter, counter.served)}}})" if counter.served else
                f"sum({counter.name}{{{ctx.q.sel(counter)}}}) - (sum({counter.name}"
                f"{{{ctx.q.sel(counter, counter.error)}}}) or vector(0))")
    rss = prom.range(rss_q, window.start, window.end, step)
    served = prom.range(served_q, window.start, window.end, step)
    times, requests, memory = aligned(served[0][1] if served else [], rss[0][1] if rss else [])
    total = int(requests[-1] - requests[0]) if requests.size else 0
    if total < params.min_requests:
        raise NoData(f"{total} requests served over the run, fewer than the {params.min_requests} a "
                     f"per-request estimate needs", query=rss_q, window=window, samples=total)
    try:
        blocks = blocks_of(times, [(w.start, w.end) for _, w in scenarios])
        leak = leak_per_request(requests, memory, blocks=blocks, names=[n for n, _ in scenarios],
                                warmup_share=params.warmup_share, confidence=item.confidence,
                                min_block_requests=params.min_scenario_requests)
    except ValueError as exc:
        raise NoData(str(exc), query=rss_q, window=window) from None
    value, bound = leak.per_request / KB, leak.high / KB
    status, reason = judge(item, value, bound)
    return make_result(
        item, status,
        f"RSS retained per request served {reason}: the least of {len(leak.blocks)} scenarios' slopes "
        f"({leak.judged}, RSS {leak.growth / 1e6:+.1f} MB after its warm-up), a leak grows in every one",
        value=value, bound=bound, interval=(leak.low / KB, bound), samples=leak.requests, window=window,
        query=f"{rss_q} against {served_q}",
        evidence={"points": leak.points, "warmup_requests": leak.warmup_requests,
                  "growth_mb": leak.growth / 1e6, "peak_mb": float(np.max(memory)) / 1e6,
                  "per_scenario_kb": {b.name: [round(v / KB, 3) for v in (b.per_request, b.low, b.high)]
                                      for b in leak.blocks},
                  "method": "least of the scenarios' Theil-Sen slopes of RSS on requests served, each "
                            "after its warm-up; bound: least upper bound, Bonferroni over the scenarios"})
