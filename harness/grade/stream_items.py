"""LLM streaming SLOs from the request log's streamed answers: time to first token, inter-token
latency, output tokens per second (per request and in total), and goodput.

Per request the log has ``ttft`` (from the intended start, so queueing counts as a user sees it),
``itl`` (that request's mean gap between tokens) and ``output_tokens`` (tokens, or chunks when the
server reports no usage). Goodput follows vLLM's definition: the requests that met every latency SLO
at once (TTFT, inter-token latency, end to end) — reported as their share of the streamed requests,
with their rate in the evidence; a failed request meets none.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from harness import stats
from harness.grade.client_items import client_rows, source
from harness.grade.context import GradeContext
from harness.grade.requests_log import is_served
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.verdict import ItemResult, Window


def _streamed(ctx: GradeContext, item: ChecklistItem) -> tuple[pd.DataFrame, Window]:
    rows, window = client_rows(ctx, item)
    # A streamed request has a token count (0 when it failed) or a ttft; the bundled API also names it.
    streamed = rows[rows["ttft"].notna() | rows["output_tokens"].notna()
                    | rows["endpoint"].astype(str).str.contains("stream")]
    if streamed.empty:
        raise NoData(f"no streamed answers in {window.scenario}/{window.phase}", window=window, samples=0)
    return streamed, window


def _quantile_item(item: ChecklistItem, values: np.ndarray, window: Window, what: str,
                   q: float, evidence: dict[str, Any]) -> ItemResult:
    """A latency quantile of ``values`` against an upper limit, passing on its upper bound."""
    est = stats.quantile_estimate(values, q, item.confidence)
    fields = {"value": est.estimate, "bound": est.upper, "interval": est.interval, "samples": est.n,
              "window": window, "evidence": evidence}
    need = max(item.min_samples, 1)
    if est.n < need or est.upper is None or est.estimate is None:
        raise NoData(f"{est.n} streamed answers with a {what}, fewer than the {need} a bound needs", **fields)
    status, reason = judge(item, est.estimate, est.upper)
    return make_result(item, status, f"{what} P{q * 100:g} {reason}", **fields)


def ttft_p95(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    rows, window = _streamed(ctx, item)
    values = rows["ttft"].dropna().to_numpy(dtype=float)
    evidence = {"streamed": len(rows), "source": source(window) + " (ttft, from the intended start)"}
    return _quantile_item(item, values, window, "time to first token", 0.95, evidence)


def itl_p95(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    rows, window = _streamed(ctx, item)
    values = rows["itl"].dropna().to_numpy(dtype=float)
    return _quantile_item(item, values, window, "inter-token latency", 0.95,
                          {"streamed": len(rows), "single_chunk_answers": int(rows["itl"].isna().sum()),
                           "source": source(window) + " (itl: each answer's mean gap between tokens)"})


def _generated(rows: pd.DataFrame) -> pd.DataFrame:
    """Served answers the model generated (a cached answer arrives as one chunk: no token count)."""
    return rows[is_served(rows) & rows["output_tokens"].notna() & ~rows["cached"].astype(bool)]


def _tokens_per_s(rows: pd.DataFrame) -> np.ndarray:
    """Each generated answer's output tokens over its time from send to last token."""
    served = _generated(rows)
    seconds = served["latency_uncorrected"].to_numpy(dtype=float)
    tokens = served["output_tokens"].to_numpy(dtype=float)
    keep = seconds > 0
    return tokens[keep] / seconds[keep]


def request_tokens_per_s(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """The slow tail of per-request output speed: its 5th percentile, passing on the lower bound."""
    rows, window = _streamed(ctx, item)
    rates = _tokens_per_s(rows)
    est = stats.quantile_estimate(rates, 0.05, item.confidence)
    lower = None
    if est.estimate is not None:
        low = scipy_stats.quantile_test(rates, q=est.estimate, p=0.05, alternative="greater")
        lower = float(low.confidence_interval(item.confidence).low)
        lower = lower if np.isfinite(lower) else None
    total_tokens = float(_generated(rows)["output_tokens"].sum())
    fields = {"value": est.estimate, "bound": lower, "interval": est.interval, "samples": est.n,
              "window": window,
              "evidence": {"total_output_tokens": total_tokens,
                           "total_tokens_per_s": total_tokens / max(window.end - window.start, 1e-9),
                           "median_tokens_per_s": float(np.median(rates)) if rates.size else None,
                           "source": source(window) + " (output_tokens / latency_uncorrected)"}}
    if est.n < max(item.min_samples, 1) or lower is None or est.estimate is None:
        raise NoData(f"{est.n} served streamed answers with a token count: too few for a bound", **fields)
    status, reason = judge(item, est.estimate, lower)
    return make_result(item, status, f"output tokens/s per request, P5 {reason}", **fields)


def total_tokens_per_s(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Output tokens the model streamed in the phase over its duration (the generator's own count;
    answers from the cache are left out, their token count is unknown)."""
    rows, window = _streamed(ctx, item)
    served = _generated(rows)
    tokens = float(served["output_tokens"].sum())
    if tokens == 0:
        raise NoData("no output tokens counted in the window", window=window, samples=len(rows))
    value = tokens / max(window.end - window.start, 1e-9)
    status, reason = judge(item, value, None)
    return make_result(item, status, f"{tokens:.0f} tokens in {window.end - window.start:.0f} s: {reason}",
                       value=value, samples=len(served), window=window,
                       evidence={"output_tokens": tokens, "source": source(window) + " (output_tokens)"})


def goodput(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Share of streamed requests meeting every latency SLO at once (params ttft_s, itl_s, e2e_s)."""
    rows, window = _streamed(ctx, item)
    slo = {k: float(item.params[k]) for k in ("ttft_s", "itl_s", "e2e_s") if k in item.params}
    if not slo:
        raise NoData("goodput needs at least one of params ttft_s, itl_s, e2e_s", window=window)
    good = is_served(rows)
    if "ttft_s" in slo:
        good &= (rows["ttft"] <= slo["ttft_s"]).fillna(False).to_numpy(dtype=bool)
    if "itl_s" in slo:  # a one-chunk answer has no gap to miss
        good &= (rows["itl"] <= slo["itl_s"]).fillna(True).to_numpy(dtype=bool)
    if "e2e_s" in slo:
        good &= (rows["latency"] <= slo["e2e_s"]).to_numpy(dtype=bool)
    n, k = len(rows), int(good.sum())
    lower = 1 - stats.proportion_upper(n - k, n, item.confidence)
    status, reason = judge(item, k / n, lower)
    return make_result(item, status, f"{k} of {n} streamed requests met every SLO at once: {reason}",
                       value=k / n, bound=lower, samples=n, window=window,
                       evidence={"slo": slo, "goodput_rps": k / max(window.end - window.start, 1e-9),
                                 "source": source(window)})
