"""Client items: what the load generator itself saw, from its request log (every request, exact)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness import stats
from harness.grade import stops
from harness.grade.context import GradeContext
from harness.grade.requests_log import errors_by_kind, errors_text, is_error, is_shed, phase_rows
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.params import MaxLatencyParams
from harness.schemas.timeline import ScenarioStats
from harness.schemas.verdict import ItemResult, Window


def client_rows(ctx: GradeContext, item: ChecklistItem) -> tuple[pd.DataFrame, Window]:
    window = ctx.window(item)
    frame = ctx.request_log(window.scenario)
    if frame is None:
        raise NoData(f"no request log for scenario {window.scenario}", window=window)
    rows = phase_rows(frame, window.phase, (window.start, window.end))
    if rows.empty:
        raise NoData(f"no requests logged in {window.scenario}/{window.phase}", window=window, samples=0)
    return rows, window


def source(window: Window) -> str:
    """Where a client item's numbers come from, for a reader who wants to recompute them."""
    return f"client/{window.scenario}/requests.csv, rows with phase={window.phase}"


def client_p99(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    rows, window = client_rows(ctx, item)
    est = stats.quantile_estimate(rows["latency"].to_numpy(), 0.99, item.confidence)
    fields = {"value": est.estimate, "bound": est.upper, "interval": est.interval, "samples": est.n,
              "window": window, "evidence": {"users_max": _users(ctx, window), "source": source(window)}}
    if est.n < item.min_samples or est.upper is None or est.estimate is None:
        raise NoData(f"{est.n} requests, fewer than the {item.min_samples} a P99 bound needs", **fields)
    status, reason = judge(item, est.estimate, est.upper)
    return make_result(item, status, f"client P99 {reason}", **fields)


def _users(ctx: GradeContext, window: Window) -> int | None:
    """Peak concurrent users the runner recorded for the phase, when it wrote stats.json."""
    if ctx.folder is None or window.scenario is None:
        return None
    path = ctx.folder.client_stats(window.scenario)
    if not path.exists():
        return None
    try:
        return ScenarioStats.load_file(path).phase(window.phase or "").max_users
    except KeyError:
        return None


def max_latency(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """The slowest request as the service delivered it (from the actual send: a timeout bounds the
    service, not the generator's scheduling)."""
    rows, window = client_rows(ctx, item)
    latencies = rows["latency_uncorrected"].to_numpy(dtype=float)
    latencies = latencies[np.isfinite(latencies)]
    if not latencies.size:
        raise NoData("no request in the window has a measured latency", window=window, samples=0)
    value = float(latencies.max())
    over = int((latencies >= item.threshold.value).sum()) if item.threshold else 0
    evidence = {"p99": float(pd.Series(latencies).quantile(0.99)),
                "llm_timeout_s": MaxLatencyParams.of(item.params).llm_timeout_s,
                "source": source(window) + " (latency_uncorrected)"}
    held, note = stops.unanswered(ctx, window.scenario, window.phase), ""
    if held is not None:  # the service stopped the scenario here: what it never answered waited longest
        value = max(value, held.waited_s)
        over += held.count if item.threshold and held.waited_s >= item.threshold.value else 0
        note = f"; {held.line}"
        evidence["unanswered"] = {"requests": held.count, "waited_at_least_s": held.waited_s,
                                  "stop": held.stop.model_dump(mode="json")}
    status, reason = judge(item, value, None)
    total = len(rows) + (held.count if held else 0)
    return make_result(item, status, f"slowest request {reason} ({over} of {total} at or over the limit)"
                       f"{note}", value=value, samples=total, window=window,
                       evidence={"over_limit": over, **evidence})


def degraded_ratio(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Share of answers not served from cache that came back degraded."""
    rows, window = client_rows(ctx, item)
    answered = rows[(rows["status"] >= 200) & (rows["status"] < 300) & ~rows["cached"]]
    if answered.empty:
        raise NoData("no uncached successful answers in the window", window=window, samples=0)
    degraded = int(answered["degraded"].sum())
    ratio = degraded / len(answered)
    low, high = stats.proportion_interval(degraded, len(answered), 2 * item.confidence - 1)
    status, reason = judge(item, ratio, low)
    return make_result(item, status, f"{degraded} of {len(answered)} uncached answers degraded: {reason}",
                       value=ratio, bound=low, interval=(low, high), samples=len(answered), window=window,
                       evidence={"cached": int(rows["cached"].sum()), "requests": len(rows),
                                 "source": source(window)})


def client_error_rate(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Errors over the requests the service took on; shed (429) requests are neither."""
    rows, window = client_rows(ctx, item)
    # Requests the service still held when it stopped the scenario are errors: no answer.
    held = stops.unanswered(ctx, window.scenario, window.phase)
    unanswered = held.count if held else 0
    errors = int(is_error(rows).sum()) + unanswered
    shed = int(is_shed(rows).sum())
    n = len(rows) + unanswered - shed
    if n == 0:
        raise NoData(f"every one of {shed} requests was shed (429)", window=window, samples=0)
    upper = stats.proportion_upper(errors, n, item.confidence)
    status, reason = judge(item, errors / n, upper)
    counts = {str(k): int(v) for k, v in rows["status"].value_counts().items()}
    if unanswered:
        counts["no answer at the stop"] = unanswered
    shed_note = f" ({shed} more shed with 429)" if shed else ""
    held_note = f" ({held.line})" if held else ""
    kinds = errors_by_kind(rows)
    return make_result(item, status, f"{errors} failed of {n} requests{errors_text(kinds)}{shed_note}: "
                       f"{reason}{held_note}", value=errors / n, bound=upper, samples=n, window=window,
                       interval=stats.proportion_interval(errors, n, item.confidence),
                       evidence={"status_counts": counts, "errors": errors, "requests": n, "shed": shed,
                                 "error_kinds": kinds, "source": source(window)})
