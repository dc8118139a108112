"""The statistics a release decision rests on: bounds, not point estimates.

- a proportion (error rate): one-sided upper bound, Clopper-Pearson (exact) or Wilson;
- a quantile (P99): distribution-free interval from order statistics, which needs a minimum sample
  count before an upper bound exists at all (Wilks: 59 samples for P95 at 95%, 299 for P99);
- a trend (memory MB/hour): Theil-Sen slope with its confidence interval, robust to GC spikes;
- a shift between two runs (baseline): one-sided Mann-Whitney U, so noise is not called a regression.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy import stats

ProportionMethod = Literal["clopper-pearson", "wilson"]
_SCIPY_METHOD = {"clopper-pearson": "exact", "wilson": "wilson"}


def proportion_interval(k: int, n: int, confidence: float = 0.95,
                        method: ProportionMethod = "clopper-pearson") -> tuple[float, float]:
    """Two-sided interval for k events in n trials."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method=_SCIPY_METHOD[method])
    return float(ci.low), float(ci.high)


def proportion_upper(k: int, n: int, confidence: float = 0.95,
                     method: ProportionMethod = "clopper-pearson") -> float:
    """One-sided upper bound: the upper end of the two-sided interval at level 2*confidence - 1."""
    return proportion_interval(k, n, 2 * confidence - 1, method)[1]


def min_samples_for_upper_bound(p: float, confidence: float = 0.95) -> int:
    """Fewest samples whose maximum is an upper ``confidence`` bound on the ``p`` quantile (Wilks)."""
    return math.ceil(math.log(1 - confidence) / math.log(p))


class QuantileEstimate(BaseModel):
    p: float
    n: int
    estimate: float | None
    upper: float | None  # one-sided upper bound; None when n is too small to have one
    interval: tuple[float, float] | None  # two-sided; None when n is too small
    lower: float | None = None  # one-sided lower bound; None when n is too small to have one


def quantile_estimate(samples: Sequence[float] | np.ndarray, p: float,
                      confidence: float = 0.95) -> QuantileEstimate:
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]  # a request without a measured latency is not a fast one
    n = int(x.size)
    if n == 0:
        return QuantileEstimate(p=p, n=0, estimate=None, upper=None, interval=None)
    estimate = float(np.quantile(x, p, method="inverted_cdf"))
    upper = stats.quantile_test(x, q=estimate, p=p, alternative="less").confidence_interval(confidence).high
    lower = stats.quantile_test(x, q=estimate, p=p, alternative="greater").confidence_interval(confidence).low
    two = stats.quantile_test(x, q=estimate, p=p).confidence_interval(confidence)
    interval = (float(two.low), float(two.high)) if np.isfinite([two.low, two.high]).all() else None
    return QuantileEstimate(p=p, n=n, estimate=estimate, upper=float(upper) if np.isfinite(upper) else None,
                            interval=interval, lower=float(lower) if np.isfinite(lower) else None)


class Trend(BaseModel):
    slope: float  # units of y per unit of t
    low: float
    high: float
    intercept: float
    n: int


def theil_sen(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
              confidence: float = 0.95) -> Trend:
    t_arr, y_arr = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t_arr.size < 3:
        raise ValueError("a trend needs at least 3 points")
    res = stats.theilslopes(y_arr, t_arr, alpha=confidence)
    return Trend(slope=float(res.slope), low=float(res.low_slope), high=float(res.high_slope),
                 intercept=float(res.intercept), n=int(t_arr.size))


def shift_p_value(before: Sequence[float] | np.ndarray, after: Sequence[float] | np.ndarray) -> float:
    """p-value of 'after is stochastically larger than before' (one-sided Mann-Whitney U)."""
    return float(stats.mannwhitneyu(np.asarray(after, dtype=float), np.asarray(before, dtype=float),
                                    alternative="greater").pvalue)
