"""Whether one step meets the SLO, with confidence: pass, fail, or inconclusive (measure it longer).

- P99 latency: distribution-free one-sided bounds from order statistics, each at the confidence
  (together a two-sided interval at 2c - 1). Upper bound below the SLO: pass; lower bound above it:
  fail; straddling it, or too few samples for an upper bound (299 at 95%): inconclusive.
- Error rate: a Clopper-Pearson interval. Its lower end above the SLO: fail; a point estimate at or
  above the SLO with the interval straddling it: inconclusive. Proving a 0.1% rate *below* the SLO
  takes ~3000 requests per step, more than a quick search affords, so unless ``strict_errors`` is
  set a step with a point estimate below the SLO passes this test, and its upper bound is reported.
- Keeping up: an open-model step whose backlog (arrived minus completed) grows faster than half the
  tolerance times the rate is over capacity even when it is too short for latency to show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.schemas.capacity import StepOutcome
from harness.stats import proportion_interval, quantile_estimate, theil_sen


@dataclass(frozen=True)
class SLO:
    p99_s: float
    error_rate: float
    confidence: float = 0.95
    strict_errors: bool = False


@dataclass(frozen=True)
class Judgement:
    outcome: StepOutcome
    reason: str
    p50: float | None
    p95: float | None
    p99: float | None
    p99_ci: tuple[float, float] | None
    error_rate: float
    error_rate_ci: tuple[float, float]


def backlog_growth(intended_start: np.ndarray, end: np.ndarray, window: tuple[float, float],
                   points: int = 40) -> tuple[float, float] | None:
    """(slope, lower bound) of the backlog in requests per second over the window, by Theil-Sen.

    ``end`` is NaN for a request that never completed. None when the window is too short to tell.
    """
    start, stop = window
    if stop - start <= 0 or intended_start.size < 10:
        return None
    # Skip the first tenth: every step starts from an empty queue, and filling it is not growth.
    grid = np.linspace(start + 0.1 * (stop - start), stop, points)
    arrived = np.searchsorted(np.sort(intended_start), grid, side="right")
    done = np.sort(np.where(np.isnan(end), np.inf, end))
    completed = np.searchsorted(done, grid, side="right")
    trend = theil_sen(grid, (arrived - completed).astype(float))
    return trend.slope, trend.low


def p99_bounds(latencies: np.ndarray, confidence: float) -> tuple[float | None, float, float | None]:
    """(estimate, lower bound, upper bound) of P99, one-sided bounds at ``confidence`` each.

    The lower bound always exists (0 when the sample is tiny); the upper one needs enough samples.
    """
    p99 = quantile_estimate(latencies, 0.99, confidence)
    return p99.estimate, p99.lower or 0.0, p99.upper


def judge_step(latencies: np.ndarray, errors: int, total: int, slo: SLO, *, rate: float,
               tolerance: float, growth: tuple[float, float] | None = None) -> Judgement:
    """``latencies``: every request that got an answer or an error; ``total`` includes dropped ones."""
    p50, p95 = (float(np.quantile(latencies, q, method="inverted_cdf")) if latencies.size else None
                for q in (0.5, 0.95))
    p99, low, high = p99_bounds(latencies, slo.confidence)
    # Two-sided at 2c - 1, matching the one-sided bounds each at c.
    err_ci = proportion_interval(errors, total, 2 * slo.confidence - 1) if total else (0.0, 1.0)
    err = errors / total if total else 0.0
    ci = (low, high) if high is not None else None

    def result(outcome: StepOutcome, reason: str) -> Judgement:
        return Judgement(outcome, reason, p50, p95, p99, ci, err, err_ci)

    if total == 0 or p99 is None:
        return result(StepOutcome.failed, "no request completed or failed: the target took no load")
    failures = []
    if low >= slo.p99_s:
        failures.append(f"P99 {p99:.3g} s, lower bound {low:.3g} s above the SLO {slo.p99_s:g} s")
    if err_ci[0] > slo.error_rate:
        failures.append(f"error rate {err:.2%} ({errors}/{total}), lower bound {err_ci[0]:.2%} "
                        f"above the SLO {slo.error_rate:.2%}")
    if growth is not None and growth[1] > tolerance / 2 * rate:
        failures.append(f"backlog grows {growth[0]:.3g} req/s (lower bound {growth[1]:.3g}): "
                        f"not keeping up with {rate:.3g} req/s")
    if failures:
        return result(StepOutcome.failed, "; ".join(failures))

    unsure = []
    if high is None:
        unsure.append(f"{latencies.size} samples give no upper bound on P99 (estimate {p99:.3g} s)")
    elif high >= slo.p99_s:
        unsure.append(f"P99 {p99:.3g} s, bounds [{low:.3g}, {high:.3g}] s straddle the SLO {slo.p99_s:g} s")
    if err >= slo.error_rate or (slo.strict_errors and err_ci[1] >= slo.error_rate):
        unsure.append(f"error rate {err:.2%} ({errors}/{total}), CI [{err_ci[0]:.2%}, {err_ci[1]:.2%}] "
                      f"straddles the SLO {slo.error_rate:.2%}")
    if unsure:
        return result(StepOutcome.inconclusive, "; ".join(unsure))
    return result(StepOutcome.passed,
                  f"P99 {p99:.3g} s, upper bound {high:.3g} s < {slo.p99_s:g} s; "
                  f"errors {errors}/{total} (upper bound {err_ci[1]:.2%})")
