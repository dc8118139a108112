"""Metric items: server-side measurements from Prometheus over one phase window, each cross-checked
with the load generator's request log where the run has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import stats
from harness.grade.context import GradeContext
from harness.grade.nodata import missing_series
from harness.grade.queries import duration
from harness.grade.requests_log import errors_by_kind, errors_text, is_error, is_served, is_shed, phase_rows
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem, render_query
from harness.schemas.params import MemoryTrendParams, ThroughputParams
from harness.schemas.verdict import ItemResult, ItemStatus, Window

# Server and client P99 further apart than both of these are reported: one of them is wrong. The
# absolute floor keeps histogram-bucket rounding of millisecond latencies from being called a finding.
P99_DISAGREEMENT = 0.25
P99_DISAGREEMENT_S = 0.25
_STATUS_RANK = {ItemStatus.passed: 0, ItemStatus.warn: 1, ItemStatus.no_data: 2, ItemStatus.failed: 3}


def _scope(ctx: GradeContext, item: ChecklistItem) -> Window:
    window = ctx.window(item)
    ctx.scrape_gaps(window)
    return window


def _client_rows(ctx: GradeContext, window: Window) -> Any:
    frame = ctx.request_log(window.scenario)
    if frame is None:
        return None
    rows = phase_rows(frame, window.phase, (window.start, window.end))
    return rows if len(rows) else None


@dataclass
class _ServerCounts:
    """Requests the service's counter saw in a window, by outcome, and the query of each count."""

    total: int
    served: int
    shed: int
    errors: int
    queries: dict[str, str]


def _server_counts(ctx: GradeContext, window: Window) -> _ServerCounts:
    """Requests between the window's edges by outcome (harness.schemas.outcome), from the service's
    counter's status label."""
    prom = ctx.require_prom()
    counter = ctx.metrics.requests
    if counter is None:
        raise NoData("the service profile maps no request counter (service.metrics.requests)", window=window)
    matchers = {"total": None, "served": counter.served, "shed": counter.shed, "errors": counter.error}
    queries = {name: ctx.q.counted(counter, window.start, window.end, matcher)
               for name, matcher in matchers.items() if name == "total" or matcher}
    total = prom.scalar(queries["total"], window.end)
    if total is None:
        raise missing_series(ctx, counter, "service.metrics.requests", window, query=queries["total"])
    resets = prom.scalar(ctx.q.resets(counter, window.start, window.end), window.end)
    if resets:
        raise NoData(f"{counter.name} was reset inside the window (the service restarted)",
                     query=queries["total"], window=window)
    # Only here may absence mean zero: client libraries create a status series on its first
    # request, so with requests counted and no series of a status, no request had it.
    counts = {name: round(prom.scalar(query, window.end) or 0.0) for name, query in queries.items()
              if name != "total"}
    counts.setdefault("shed", 0)  # labels that cannot tell a 429 apart (status="4xx") count none as shed
    if "served" not in counts:  # no served matcher: whatever is neither shed nor an error
        counts["served"] = round(total) - counts["shed"] - counts["errors"]
        queries["served"] = " - ".join(f"({queries[n]})" for n in ("total", "shed", "errors") if n in queries)
    return _ServerCounts(total=round(total), queries=queries, **counts)


def throughput_ratio(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Served requests (2xx the client could read) per second over the promised rate: shed (429) and
    failed requests are not throughput. The lower of the server's and the client's served counts decides."""
    window = _scope(ctx, item)
    plan = ctx.plan(item.scenario)
    rate_x = plan.rate_x if plan and plan.rate_x else ThroughputParams.of(item.params).rate_x
    if not rate_x:
        raise NoData(f"scenario {item.scenario} promises no arrival rate (rate_x) to compare with")
    promised = rate_x * ctx.checklist.target_qps
    counts = _server_counts(ctx, window)
    span = window.end - window.start
    served, side = counts.served, "server"
    evidence: dict[str, Any] = {
        "served_rps": counts.served / span, "promised_rps": promised,
        "server": {"served": counts.served, "shed": counts.shed, "errors": counts.errors}}
    rows = _client_rows(ctx, window)
    if rows is not None:
        client_served = int(is_served(rows).sum())
        evidence["client"] = {"served": client_served, "shed": int(is_shed(rows).sum()),
                              "errors": int(is_error(rows).sum())}
        evidence["client_rps"] = client_served / span
        if client_served < served:
            served, side = client_served, "client"
    ratio = served / span / promised
    status, reason = judge(item, ratio, None)
    shed = evidence.get("client", evidence["server"])["shed"]
    not_served = f" ({shed} shed with 429)" if shed else ""
    reason = f"{side} saw {served / span:.1f} of {promised:g} promised req/s served{not_served}: {reason}"
    return make_result(item, status, reason, value=ratio, samples=served, window=window,
                       query=counts.queries["served"], evidence=evidence)


def p99_latency(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    window = _scope(ctx, item)
    prom = ctx.require_prom()
    hist = ctx.metrics.request_duration
    if hist is None:
        raise NoData("the service profile maps no request-duration histogram "
                     "(service.metrics.request_duration)", window=window)
    query = ctx.q.quantile(0.99, hist, window.start, window.end)
    server = prom.scalar(query, window.end)
    count = prom.scalar(ctx.q.histogram_count(hist, window.start, window.end), window.end)
    if count is None:
        raise missing_series(ctx, hist, "service.metrics.request_duration", window, query=query,
                             suffix="_bucket")
    if server is None or not count or not np.isfinite(server):
        raise NoData(f"no {hist.name} samples in the window", query=query, window=window)
    evidence: dict[str, Any] = {"server_p99": server, "server_samples": round(count)}
    fields: dict[str, Any] = {"value": server, "window": window, "query": query, "samples": round(count)}
    rows = _client_rows(ctx, window)
    if rows is None:
        if count < item.min_samples:
            raise NoData(f"{count:.0f} requests, fewer than the {item.min_samples} a P99 needs", **fields,
                         evidence=evidence)
        status, reason = judge(item, server, None)
        return make_result(item, status, f"server P99 {reason} (no client log: no confidence bound)",
                           evidence=evidence, **fields)
    client = stats.quantile_estimate(rows["latency"].to_numpy(), 0.99, item.confidence)
    evidence.update(client_p99=client.estimate, client_samples=client.n, disagreement=None)
    fields.update(samples=client.n, bound=client.upper, interval=client.interval)
    if client.n < item.min_samples or client.upper is None:
        raise NoData(f"{client.n} client samples, fewer than the {item.min_samples} a P99 bound needs",
                     **fields, evidence=evidence)
    disagreement = abs(server - client.estimate) / max(client.estimate, 1e-9)
    note = ""
    if disagreement > P99_DISAGREEMENT and abs(server - client.estimate) > P99_DISAGREEMENT_S:
        evidence["disagreement"] = round(disagreement, 3)
        note = (f"; server P99 {server:.3g} s and client P99 {client.estimate:.3g} s "
                f"disagree by {disagreement:.0%}")
    status_server, reason_server = judge(item, server, None)
    status_client, reason_client = judge(item, client.estimate, client.upper)
    # The value shown is the side that decided: the client's (with its bound) unless the server's is worse.
    if _STATUS_RANK[status_server] > _STATUS_RANK[status_client]:
        fields.update(value=server, bound=None, interval=None)
        return make_result(item, status_server, f"server P99 {reason_server}{note}", evidence=evidence,
                           **fields)
    fields["value"] = client.estimate
    return make_result(item, status_client, f"client P99 {reason_client}{note}", evidence=evidence, **fields)


def error_rate(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Errors over the requests the service took on (shed 429s are neither: load_2x_target sees them)."""
    window = _scope(ctx, item)
    counts = _server_counts(ctx, window)
    query = f"({counts.queries['errors']}) / ({counts.queries['served']} + {counts.queries['errors']})"
    if counts.served + counts.errors == 0:
        raise NoData("no agent requests served or failed in the window", query=query, window=window)
    results = [_rate_result(item, counts.errors, counts.served + counts.errors, "server", window, query)]
    rows = _client_rows(ctx, window)
    taken = int((is_error(rows) | is_served(rows)).sum()) if rows is not None else 0
    if rows is not None and taken:
        client = _rate_result(item, int(is_error(rows).sum()), taken, "client", window, query)
        kinds = errors_by_kind(rows)
        client.reason = client.reason.replace(" requests;", f" requests{errors_text(kinds)};", 1)
        client.evidence["error_kinds"] = kinds
        results.append(client)
    worst = max(results, key=lambda r: _STATUS_RANK[r.status])
    worst.evidence["sides"] = {r.evidence["side"]: {k: r.evidence[k] for k in ("errors", "requests")}
                               for r in results}
    return worst


def _rate_result(item: ChecklistItem, errors: int, total: int, side: str, window: Window,
                 query: str | None) -> ItemResult:
    rate = errors / total
    upper = stats.proportion_upper(errors, total, item.confidence)
    status, reason = judge(item, rate, upper)
    return make_result(item, status, f"{side}: {errors} errors in {total} requests; {reason}", value=rate,
                       bound=upper, interval=stats.proportion_interval(errors, total, item.confidence),
                       samples=total, window=window, query=query,
                       evidence={"errors": errors, "requests": total, "side": side,
                                 "wilson_upper": stats.proportion_upper(errors, total, item.confidence,
                                                                        "wilson")})


def memory_trend(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    window = _scope(ctx, item)
    prom = ctx.require_prom()
    memory = ctx.metrics.memory
    if memory is None:
        raise NoData("the service profile maps no memory series (service.metrics.memory)", window=window)
    query = ctx.q.gauge(memory)
    step = ctx.scrape_interval_s()
    series = prom.range(query, window.start, window.end, step)
    points = series[0][1] if series else []
    # With a slow scrape (15-30 s) a short window holds few points: ask for most of what it can hold.
    can_hold = max(3, int(0.8 * (window.end - window.start) / step))
    min_points = min(MemoryTrendParams.of(item.params).min_points, can_hold)
    if not points:
        raise missing_series(ctx, memory, "service.metrics.memory", window, query=query)
    if len(points) < min_points:
        raise NoData(f"{len(points)} memory samples in the window, fewer than {min_points}", query=query,
                     window=window, samples=len(points))
    t = np.array([p[0] for p in points])
    mb = np.array([p[1] for p in points]) / 1e6
    trend = stats.theil_sen((t - t[0]) / 3600.0, mb, item.confidence)
    peak = _peak_mb(ctx, window)
    status, reason = judge(item, trend.slope, trend.high)
    hours = (t[-1] - t[0]) / 3600
    fitted = [(float(t[0]), trend.intercept), (float(t[-1]), trend.intercept + trend.slope * hours)]
    return make_result(
        item, status, f"RSS grows {reason} (peak {peak:.0f} MB)", value=trend.slope, bound=trend.high,
        interval=(trend.low, trend.high), samples=trend.n, window=window, query=query,
        evidence={"peak_mb": peak, "start_mb": float(mb[0]), "end_mb": float(mb[-1]),
                  "trend_mb": fitted, "method": "Theil-Sen"})


def _peak_mb(ctx: GradeContext, window: Window) -> float:
    """Peak RSS over the whole scenario (warm-up included): a leak's cost is its peak."""
    start, end = window.start, window.end
    if ctx.timeline is not None and window.scenario:
        run = ctx.timeline.scenario(window.scenario)
        start, end = run.window()
    span = max(end - start, 1.0)
    step = ctx.scrape_interval_s()
    query = ctx.q.gauge(ctx.metrics.memory) if ctx.metrics.memory else "vector(0)"
    peak = ctx.require_prom().scalar(f"max_over_time({query}[{span:.0f}s:{step:g}s] @ {end:.3f})", end)
    return (peak or 0.0) / 1e6


def llm_p95(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    window = _scope(ctx, item)
    prom = ctx.require_prom()
    hist = ctx.metrics.llm_duration
    if hist is None:
        raise NoData("the service profile maps no LLM-latency histogram (service.metrics.llm_duration)",
                     window=window)
    query = ctx.q.quantile(0.95, hist, window.start, window.end)
    value = prom.scalar(query, window.end)
    count = prom.scalar(ctx.q.histogram_count(hist, window.start, window.end), window.end)
    if count is None:
        raise missing_series(ctx, hist, "service.metrics.llm_duration", window, query=query, suffix="_bucket")
    if value is None or not count or not np.isfinite(value):
        raise NoData(f"no {hist.name} samples in the window (every answer cached?)", query=query,
                     window=window)
    status, reason = judge(item, value, None)
    return make_result(item, status, f"LLM P95 {reason}", value=value, samples=round(count), window=window,
                       query=query)


def promql(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """A raw template from the checklist: ``{start}``, ``{end}``, ``{range}``, ``{job}`` are filled in."""
    window = _scope(ctx, item)
    if not item.query:
        raise NoData(f"item {item.id} has neither a known measure nor a query")
    query = render_query(item.query, {"start": f"{window.start:.3f}", "end": f"{window.end:.3f}",
                                      "range": duration(window.end - window.start), "job": ctx.job})
    value = ctx.require_prom().scalar(query, window.end)
    if value is None or not np.isfinite(value):
        raise NoData("the query returned no series", query=query, window=window)
    status, reason = judge(item, value, None)
    return make_result(item, status, reason, value=value, window=window, query=query)
