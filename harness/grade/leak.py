"""Memory retained per request served, over the whole run: a leak estimate that tells a bounded cache
filling from growth that keeps pace with traffic.

RSS against time mixes the two: a cache filling in the first minute of load grows as fast as a leak,
and an idle gap between scenarios looks like a leak that stopped. RSS against the *count of requests
served* separates them: a bounded cache adds nothing per request once full, while a leak adds the
same bytes to every one.

Each scenario is a block of its own. A scenario that starts a new kind of load (1000 connections,
prompts the cache has not seen, longer conversations) raises RSS to a new high-water mark of
buffers, arenas and cache entries, at its start or while it runs; a leak retains its bytes at every
request, whatever the kind. So each block gets its own robust slope (Theil-Sen, after the block's
first share of requests, its warm-up), and the estimate is the *smallest* of them: it fails only
when even the scenario where RSS grew least grew by more than the limit per request, and passes
when one scenario's upper bound is under it (each interval at 1 - alpha/k, Bonferroni over the k
blocks, so a real leak passes with probability <= alpha). The cost, stated where the item is: a
leak confined to one kind of request (only the sessions' path) is not this item's to catch.

Pure functions over aligned samples; no Prometheus here (``memory_items`` reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.stats import theil_sen

# Samples 1 s apart are strongly autocorrelated (RSS moves in allocator steps): fitting every one
# would make the interval far too narrow. The fit uses this many over the run, evenly spaced in
# requests served inside each block and shared out by the requests each block served.
MAX_POINTS = 60
MIN_BLOCK_POINTS = 3


@dataclass(frozen=True)
class BlockFit:
    """One block's slope: bytes of RSS per request served inside it, after its warm-up."""

    name: str
    per_request: float
    low: float  # its confidence interval (Bonferroni over the blocks fitted)
    high: float
    points: int
    requests: int  # served over the fitted part of the block
    warmup_requests: int  # served in the block's warm-up, not judged
    growth: float  # RSS change over the fitted part, bytes


@dataclass(frozen=True)
class LeakEstimate:
    per_request: float  # bytes per request: the smallest block slope
    low: float  # that block's lower bound
    high: float  # the smallest upper bound of any block
    points: int  # samples fitted, over all blocks
    requests: int  # requests served over the fitted parts
    warmup_requests: int  # requests served in the blocks' warm-ups (not judged)
    growth: float  # RSS change over the fitted part of the block with the smallest slope, bytes
    judged: str  # that block's name
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


def _checked(served: np.ndarray, rss: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, ...]:
    served, rss = np.asarray(served, dtype=float), np.asarray(rss, dtype=float)
    block = np.asarray(block, dtype=int)
    keep = np.isfinite(served) & np.isfinite(rss) & (block >= 0)
    if np.any(np.diff(served[np.isfinite(served)]) < 0):
        raise ValueError("the served-request counter went down (the service restarted)")
    return served[keep], rss[keep], block[keep]


def _block_parts(served: np.ndarray, rss: np.ndarray, block_of: np.ndarray, warmup_share: float,
                 max_points: int, min_requests: int) -> list[tuple[int, np.ndarray, np.ndarray, int]]:
    """(block, x, y, warm-up requests) of each block with enough requests after its warm-up."""
    ids = list(dict.fromkeys(block_of.tolist()))
    spans = {b: np.ptp(served[block_of == b]) for b in ids}
    total = sum(spans.values())
    if total <= 0:
        raise ValueError("no request was served while the memory was sampled")
    parts = []
    for b in ids:
        inside = block_of == b
        share = max(MIN_BLOCK_POINTS, int(round(max_points * spans[b] / total)))
        x, y, warm = _fitted_part(served[inside], rss[inside], warmup_share, share)
        if x.size >= MIN_BLOCK_POINTS and x[-1] - x[0] >= min_requests:
            parts.append((b, x, y, warm))
    if not parts:
        raise ValueError(f"no scenario served {max(min_requests, MIN_BLOCK_POINTS)} requests at "
                         f"{MIN_BLOCK_POINTS}+ distinct times after its warm-up ({total:.0f} served in all)")
    return parts


def leak_per_request(served: np.ndarray, rss: np.ndarray, *, blocks: np.ndarray | None = None,
                     names: list[str] | None = None, warmup_share: float = 0.3, confidence: float = 0.95,
                     max_points: int = MAX_POINTS, min_block_requests: int = 0) -> LeakEstimate:
    """The smallest per-block slope of RSS (bytes) on cumulative requests served, and its bound.

    ``served`` and ``rss`` are samples at the same instants, in time order; ``served`` counts from any
    origin and must not decrease (a reset is a restart, graded elsewhere). ``blocks`` gives each
    sample's block (a scenario's index; < 0: between scenarios, unused); None: the whole series is
    one block. Each block's first ``warmup_share`` of its requests is not judged, nor a block with
    fewer than ``min_block_requests`` after it. Raises ValueError when no block can be fitted.
    """
    block_of = np.zeros(np.size(served), dtype=int) if blocks is None else blocks
    served, rss, block_of = _checked(served, rss, block_of)
    if served.size < 3:
        raise ValueError(f"{served.size} samples: a slope needs at least 3")
    parts = _block_parts(served, rss, block_of, warmup_share, max_points, min_block_requests)
    each = 1 - (1 - confidence) / len(parts)  # Bonferroni: any one bound may pass the item
    fits = []
    for b, x, y, warm in parts:
        trend = theil_sen(x, y, each)
        name = names[b] if names is not None and b < len(names) else str(b)
        fits.append(BlockFit(name=name, per_request=trend.slope, low=trend.low, high=trend.high,
                             points=int(x.size), requests=int(x[-1] - x[0]), warmup_requests=warm,
                             growth=float(y[-1] - y[0])))
    least = min(fits, key=lambda f: f.per_request)
    return LeakEstimate(per_request=least.per_request, low=least.low, high=min(f.high for f in fits),
                        points=sum(f.points for f in fits), requests=sum(f.requests for f in fits),
                        warmup_requests=sum(f.warmup_requests for f in fits), growth=least.growth,
                        judged=least.name, blocks=tuple(fits))


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
