"""Session items (agent_sessions): what conversations saw, from the request log's session columns.

A session succeeded when every turn it asked was answered (served, degraded or not); it failed when
any turn failed; one the run ended before its last turn is left out (neither). Latency by turn
index and tool outcomes come from the same rows the report charts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness import stats
from harness.grade.context import GradeContext
from harness.grade.requests_log import is_error, phase_rows
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.verdict import ItemResult, Window


def _turns(ctx: GradeContext, item: ChecklistItem) -> tuple[pd.DataFrame, Window]:
    """The scenario's session turns (rows with a session id), in the item's phase when it names one."""
    window = ctx.window(item)
    frame = ctx.request_log(window.scenario)
    if frame is None:
        raise NoData(f"no request log for scenario {window.scenario}", window=window)
    if "session" not in frame.columns or frame["session"].isna().all():
        raise NoData(f"the request log of {window.scenario} has no session turns", window=window, samples=0)
    rows = frame[frame["session"].notna()]
    if window.phase is not None:
        rows = phase_rows(rows, window.phase, (window.start, window.end))
    if rows.empty:
        raise NoData(f"no session turns in {window.scenario}/{window.phase or 'any phase'}", window=window,
                     samples=0)
    return rows, window


def _source(window: Window, what: str) -> str:
    return f"client/{window.scenario}/requests.csv: {what}"


def session_outcomes(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per session: turns asked, failed (any turn an error), finished (failed or all asked)."""
    rows = rows.assign(error=is_error(rows))
    per = rows.groupby("session").agg(asked=("turn", "size"), planned=("turns", "max"),
                                      failed=("error", "any"))
    per["finished"] = per["failed"] | (per["asked"] >= per["planned"])
    return per


def session_success_rate(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Share of finished sessions whose every turn was answered; passes on its lower bound."""
    rows, window = _turns(ctx, item)
    per = session_outcomes(rows)
    finished = per[per["finished"]]
    n, failed = len(finished), int(finished["failed"].sum())
    if n == 0:
        raise NoData("no session finished in the window", window=window, samples=0)
    rate = 1 - failed / n
    lower = 1 - stats.proportion_upper(failed, n, item.confidence)
    status, reason = judge(item, rate, lower)
    return make_result(item, status, f"{n - failed} of {n} sessions answered every turn: {reason}",
                       value=rate, bound=lower, samples=n, window=window,
                       evidence={"failed_sessions": failed,
                                 "unfinished_sessions": int((~per["finished"]).sum()), "turns": len(rows),
                                 "mean_turns": float(finished["asked"].mean()),
                                 "source": _source(window, "rows grouped by session")})


def deep_turn_p99(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """P99 latency of the deepest turns: from the highest turn index down until ``min_samples`` turns
    (the most history the run can grade), order-statistic upper bound against the SLO."""
    rows, window = _turns(ctx, item)
    counts = rows.groupby("turn").size().sort_index(ascending=False)
    need = max(item.min_samples, 1)
    deepest = int(counts.index[-1])
    for turn, total in zip(counts.index, counts.cumsum(), strict=True):
        deepest = int(turn)
        if total >= need:
            break
    deep = rows[rows["turn"] >= deepest]
    est = stats.quantile_estimate(deep["latency"].to_numpy(dtype=float), 0.99, item.confidence)
    by_turn = {int(t): float(np.quantile(g["latency"], 0.99, method="inverted_cdf"))
               for t, g in rows.groupby("turn")}
    fields = {"value": est.estimate, "bound": est.upper, "interval": est.interval, "samples": est.n,
              "window": window, "evidence": {"turns_from": deepest, "turns_to": int(counts.index[0]),
                                             "p99_by_turn": by_turn,
                                             "source": _source(window, f"turns >= {deepest}")}}
    if est.n < need or est.upper is None or est.estimate is None:
        raise NoData(f"{est.n} turns in all, fewer than the {need} a P99 bound needs", **fields)
    status, reason = judge(item, est.estimate, est.upper)
    return make_result(item, status, f"turns {deepest}+ ({est.n}): P99 {reason}", **fields)


def _tool_calls(rows: pd.DataFrame, tool: str | None = None) -> pd.DataFrame:
    """One row per tool call listed in the ``tools`` column (name:status;...)."""
    calls = rows["tools"].fillna("").astype(str).str.split(";").explode()
    calls = calls[calls != ""].str.partition(":")[[0, 2]].set_axis(["tool", "status"], axis=1)
    return calls if tool is None else calls[calls["tool"] == tool]


def tool_error_rate(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Share of tool calls that did not answer (error or timeout), upper bound against the limit."""
    rows, window = _turns(ctx, item)
    calls = _tool_calls(rows, item.params.get("tool"))
    if calls.empty:
        raise NoData("no tool calls in the window", window=window, samples=0)
    bad = int((calls["status"] != "ok").sum())
    n = len(calls)
    upper = stats.proportion_upper(bad, n, item.confidence)
    status, reason = judge(item, bad / n, upper)
    table = {f"{t}:{s}": int(v) for (t, s), v in calls.value_counts().sort_index().items()}
    return make_result(item, status, f"{bad} of {n} tool calls failed or timed out: {reason}", value=bad / n,
                       bound=upper, samples=n, window=window,
                       evidence={"calls": table, "source": _source(window, "the tools column")})


def tool_fault_contained(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """While a tool is slowed, the slowest turn that called it (from its actual send) stays within the
    limit: the tool's own timeout contained the fault. Degraded answers are counted beside it."""
    rows, window = _turns(ctx, item)
    tool = str(item.params.get("tool", "external_api"))
    called = rows[rows["tools"].fillna("").astype(str).str.contains(f"{tool}:", regex=False)]
    if called.empty:
        raise NoData(f"no turn called {tool} in the window", window=window, samples=0)
    latencies = called["latency_uncorrected"].to_numpy(dtype=float)
    value = float(np.nanmax(latencies))
    statuses = _tool_calls(called, tool)["status"].value_counts().to_dict()
    degraded = int(called["degraded"].sum())
    status, reason = judge(item, value, None)
    return make_result(item, status, f"slowest of {len(called)} turns calling {tool}: {reason}; "
                       f"{degraded} answered degraded, {int(is_error(called).sum())} failed",
                       value=value, samples=len(called), window=window,
                       evidence={"tool": tool, "tool_statuses": {str(k): int(v) for k, v in statuses.items()},
                                 "degraded": degraded, "p99": float(np.nanquantile(latencies, 0.99)),
                                 "source": _source(window, f"turns whose tools include {tool}")})
