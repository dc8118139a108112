"""Memory retained per request served, over the whole run: a leak estimate that tells a bounded cache
filling from growth that keeps pace with traffic.

RSS against time mixes the two: a cache filling in the first minute of load grows as fast as a leak,
and an idle gap between scenarios looks like a leak that stopped. RSS against the *count of requests
served* separates them: after the caches' warm-up (the first share of the run's requests), a bounded
cache adds nothing per request while a leak adds the same bytes to every one. The slope (robust
Theil-Sen, bytes per request) comes with its confidence interval; the item judges its upper bound.

Pure functions over aligned samples; no Prometheus here (``metric_items.memory_per_request`` reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.stats import theil_sen

# Samples 1 s apart are strongly autocorrelated (RSS moves in allocator steps): fitting every one
# would make the interval far too narrow. The fit uses this many, evenly spaced in requests served.
MAX_POINTS = 60


@dataclass(frozen=True)
class LeakEstimate:
    per_request: float  # bytes of RSS retained per request served (the slope)
    low: float  # its confidence interval
    high: float
    points: int  # samples the slope was fitted on
    requests: int  # requests served over the fitted part
    warmup_requests: int  # requests served before it (the caches' warm-up, not judged)
    growth: float  # RSS change over the fitted part, bytes


def leak_per_request(served: np.ndarray, rss: np.ndarray, *, warmup_share: float = 0.3,
                     confidence: float = 0.95, max_points: int = MAX_POINTS) -> LeakEstimate:
    """Slope of RSS (bytes) on cumulative requests served, after the first ``warmup_share`` of them.

    ``served`` and ``rss`` are samples at the same instants, in time order; ``served`` counts from any
    origin and must not decrease (a reset is a restart, graded elsewhere). Raises ValueError when too
    few requests or samples remain to fit.
    """
    served, rss = np.asarray(served, dtype=float), np.asarray(rss, dtype=float)
    keep = np.isfinite(served) & np.isfinite(rss)
    served, rss = served[keep], rss[keep]
    if served.size < 3:
        raise ValueError(f"{served.size} samples: a slope needs at least 3")
    if np.any(np.diff(served) < 0):
        raise ValueError("the served-request counter went down (the service restarted)")
    served = served - served[0]
    warmup = warmup_share * served[-1]
    after = served >= warmup
    x, y = served[after], rss[after]
    picks = np.unique(np.searchsorted(x, np.linspace(x[0], x[-1], max_points)).clip(0, x.size - 1))
    x, y = x[picks], y[picks]
    if np.unique(x).size < 3:
        raise ValueError(f"requests were served at fewer than 3 distinct times after the warm-up "
                         f"({served[-1]:.0f} served in all)")
    trend = theil_sen(x, y, confidence)
    return LeakEstimate(per_request=trend.slope, low=trend.low, high=trend.high, points=int(x.size),
                        requests=int(x[-1] - x[0]), warmup_requests=int(x[0]), growth=float(y[-1] - y[0]))


def aligned(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> tuple[np.ndarray, ...]:
    """(times, first's values, second's values) at the instants both series have a sample."""
    by_time = dict(second)
    rows = [(t, v, by_time[t]) for t, v in first if t in by_time]
    if not rows:
        return np.array([]), np.array([]), np.array([])
    t, a, b = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    return t, a, b
