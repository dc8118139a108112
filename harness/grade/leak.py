"""Memory retained per request served, over the whole run: a leak estimate that tells a bounded cache
filling from growth that keeps pace with traffic.

RSS against time mixes the two: a cache filling in the first minute of load grows as fast as a leak,
and an idle gap between scenarios looks like a leak that stopped. RSS against the *count of requests
served* separates them: a bounded cache adds nothing per request once full, while a leak adds the
same bytes to every one.

Each scenario is a block of its own (Hirsch & Slack's seasonal Kendall slope: Theil-Sen within
blocks). A scenario that starts a new kind of load (1000 connections, prompts the cache has not
seen, longer conversations) raises RSS once, to a new high-water mark of buffers, arenas and cache
entries; that step happens at the scenario's start, so each block's first share of requests is its
warm-up and pairs across blocks are never compared. A leak grows inside every block, at every
request. The slope is the median of the within-block pairwise slopes, bytes per request, with Sen's
confidence interval on the pooled ranks; the item judges its upper bound.

Pure functions over aligned samples; no Prometheus here (``memory_items`` reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# Samples 1 s apart are strongly autocorrelated (RSS moves in allocator steps): fitting every one
# would make the interval far too narrow. The fit uses this many over the run, evenly spaced in
# requests served inside each block and shared out by the requests each block served.
MAX_POINTS = 60
MIN_BLOCK_POINTS = 3


@dataclass(frozen=True)
class BlockFit:
    """One block's part of the fit: its own Theil-Sen slope, shown beside the pooled one."""

    name: str
    per_request: float  # bytes per request inside this block alone
    points: int
    requests: int  # served over the fitted part of the block
    warmup_requests: int  # served in the block's warm-up, not judged
    growth: float  # RSS change over the fitted part, bytes


@dataclass(frozen=True)
class LeakEstimate:
    per_request: float  # bytes of RSS retained per request served (the pooled within-block slope)
    low: float  # its confidence interval
    high: float
    points: int  # samples the slope was fitted on
    requests: int  # requests served over the fitted parts
    warmup_requests: int  # requests served in the blocks' warm-ups (not judged)
    growth: float  # RSS change over the fitted parts, bytes (sum over blocks)
    blocks: tuple[BlockFit, ...] = ()


def _fitted_part(served: np.ndarray, rss: np.ndarray, warmup_share: float,
                 points: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A block's samples after its warm-up, thinned to ``points`` evenly spaced in requests served."""
    origin = served[0]
    warmup = origin + warmup_share * (served[-1] - origin)
    after = served >= warmup
    x, y = served[after], rss[after]
    picks = np.unique(np.searchsorted(x, np.linspace(x[0], x[-1], points)).clip(0, x.size - 1))
    x, y = x[picks], y[picks]
    keep = np.concatenate([[True], np.diff(x) > 0])  # one sample per distinct count (idle time)
    return x[keep], y[keep], int(x[0] - origin)


def _pairwise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(x.size, k=1)
    return (y[j] - y[i]) / (x[j] - x[i])


def _tie_variance(values: np.ndarray) -> float:
    """Kendall's S variance for one block, less its ties in RSS (allocator steps leave many)."""
    n = values.size
    _, counts = np.unique(values, return_counts=True)
    ties = sum(k * (k - 1) * (2 * k + 5) for k in counts if k > 1)
    return (n * (n - 1) * (2 * n + 5) - ties) / 18.0


def _sen_interval(slopes: np.ndarray, variance: float, confidence: float) -> tuple[float, float]:
    """Sen's distribution-free interval on the sorted pooled slopes (as scipy's theilslopes)."""
    z = stats.norm.ppf((1 - confidence) / 2)  # negative
    sigma = float(np.sqrt(variance))
    n = slopes.size
    upper = min(int(np.round((n - z * sigma) / 2.0)), n - 1)
    lower = max(int(np.round((n + z * sigma) / 2.0)) - 1, 0)
    return float(slopes[lower]), float(slopes[upper])


def _checked(served: np.ndarray, rss: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, ...]:
    served, rss = np.asarray(served, dtype=float), np.asarray(rss, dtype=float)
    block = np.asarray(block, dtype=int)
    keep = np.isfinite(served) & np.isfinite(rss) & (block >= 0)
    if np.any(np.diff(served[np.isfinite(served)]) < 0):
        raise ValueError("the served-request counter went down (the service restarted)")
    return served[keep], rss[keep], block[keep]


def leak_per_request(served: np.ndarray, rss: np.ndarray, *, blocks: np.ndarray | None = None,
                     names: list[str] | None = None, warmup_share: float = 0.3, confidence: float = 0.95,
                     max_points: int = MAX_POINTS) -> LeakEstimate:
    """Pooled within-block slope of RSS (bytes) on cumulative requests served.

    ``served`` and ``rss`` are samples at the same instants, in time order; ``served`` counts from any
    origin and must not decrease (a reset is a restart, graded elsewhere). ``blocks`` gives each
    sample's block (a scenario's index; < 0: between scenarios, unused); None: the whole series is
    one block. Each block's first ``warmup_share`` of its requests is not judged. Raises ValueError
    when too few requests or samples remain to fit.
    """
    block_of = np.zeros(np.size(served), dtype=int) if blocks is None else blocks
    served, rss, block_of = _checked(served, rss, block_of)
    if served.size < 3:
        raise ValueError(f"{served.size} samples: a slope needs at least 3")
    ids = list(dict.fromkeys(block_of.tolist()))
    spans = {b: np.ptp(served[block_of == b]) for b in ids}
    total = sum(spans.values())
    if total <= 0:
        raise ValueError("no request was served while the memory was sampled")
    fits, slopes, variance = [], [], 0.0
    for b in ids:
        inside = block_of == b
        share = max(MIN_BLOCK_POINTS, int(round(max_points * spans[b] / total)))
        x, y, warm = _fitted_part(served[inside], rss[inside], warmup_share, share)
        if x.size < MIN_BLOCK_POINTS:
            continue  # a block that served (almost) nothing after its warm-up says nothing
        slopes.append(_pairwise(x, y))
        variance += _tie_variance(y)
        name = names[b] if names is not None and b < len(names) else str(b)
        fits.append(BlockFit(name=name, per_request=float(np.median(slopes[-1])), points=int(x.size),
                             requests=int(x[-1] - x[0]), warmup_requests=warm, growth=float(y[-1] - y[0])))
    if not fits:
        raise ValueError(f"requests were served at fewer than {MIN_BLOCK_POINTS} distinct times after "
                         f"the warm-up ({total:.0f} served in all)")
    pooled = np.sort(np.concatenate(slopes))
    low, high = _sen_interval(pooled, variance, confidence)
    return LeakEstimate(per_request=float(np.median(pooled)), low=low, high=high,
                        points=sum(f.points for f in fits), requests=sum(f.requests for f in fits),
                        warmup_requests=sum(f.warmup_requests for f in fits),
                        growth=sum(f.growth for f in fits), blocks=tuple(fits))


def aligned(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> tuple[np.ndarray, ...]:
    """(times, first's values, second's values) at the instants both series have a sample."""
    by_time = dict(second)
    rows = [(t, v, by_time[t]) for t, v in first if t in by_time]
    if not rows:
        return np.array([]), np.array([]), np.array([])
    t, a, b = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    return t, a, b


def blocks_of(times: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    """Each sample's block: the index of the window (a scenario's start, end) holding it, else -1."""
    out = np.full(np.size(times), -1, dtype=int)
    for i, (start, end) in enumerate(windows):
        out[(times >= start) & (times <= end)] = i
    return out
