"""Per-phase client statistics from HdrHistograms: constant memory however long the run.

Latencies are recorded in integer microseconds with 3 significant digits (relative error < 0.1%).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from harness.schemas.outcome import RequestOutcome
from harness.schemas.timeline import LatencySummary, PhaseStats

_US = 1_000_000
_MAX_US = 3600 * _US  # one hour: nothing a load test waits for is longer
SIG_FIGS = 3
SPECTRUM = (0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, _MAX_US, SIG_FIGS)


_OURS = new_histogram()  # the bucket layout every histogram of ours shares
_COUNTS_LEN, _MASK, _UNIT, _HALF_MAGNITUDE, _HALF = (
    _OURS.counts_len, _OURS.sub_bucket_mask, _OURS.unit_magnitude, _OURS.sub_bucket_half_count_magnitude,
    _OURS.sub_bucket_half_count)


def record(hist: HdrHistogram, seconds: float) -> None:
    """``hist.record_value`` of the latency in µs, its index arithmetic inlined: hdrh spends six Python
    calls per value there, and a generator records four values per request (equal counts: tested)."""
    value = min(max(int(round(seconds * _US)), 1), _MAX_US)
    if hist.counts_len != _COUNTS_LEN:  # not one of ours: hdrh's own path
        hist.record_value(value)
        return
    bucket = (value | _MASK).bit_length() - _UNIT - _HALF_MAGNITUDE - 1
    hist.counts[((bucket + 1) << _HALF_MAGNITUDE) + (value >> (bucket + _UNIT)) - _HALF] += 1
    hist.total_count += 1
    if value < hist.min_value:
        hist.min_value = value
    if value > hist.max_value:
        hist.max_value = value


def percentile(hist: HdrHistogram, p: float) -> float:
    """Nearest-rank percentile (the value of rank ceil(p/100 * n)), as from the sorted raw log.

    hdrh rounds the rank half-up instead; asking it for a percentile that rounds to our rank
    keeps one definition across the histogram and the request log.
    """
    n = hist.get_total_count()
    rank = min(max(math.ceil(p / 100 * n - 1e-9), 1), n)
    return hist.get_value_at_percentile((rank - 0.25) * 100 / n) / _US


def summary(hist: HdrHistogram) -> LatencySummary:
    n = hist.get_total_count()
    if n == 0:
        return LatencySummary(count=0)
    return LatencySummary(
        count=n,
        mean=hist.get_mean_value() / _US,
        p50=percentile(hist, 50),
        p90=percentile(hist, 90),
        p95=percentile(hist, 95),
        p99=percentile(hist, 99),
        p999=percentile(hist, 99.9),
        max=hist.get_max_value() / _US,
    )


def spectrum(hist: HdrHistogram) -> list[tuple[float, float]]:
    if hist.get_total_count() == 0:
        return []
    return [(p, percentile(hist, p)) for p in SPECTRUM]


@dataclass
class PhaseAccumulator:
    """Everything one phase needs for its ``PhaseStats``, fed one request at a time."""

    phase: str
    late_s: float
    latency: HdrHistogram = field(default_factory=new_histogram)
    uncorrected: HdrHistogram = field(default_factory=new_histogram)
    ttft: HdrHistogram = field(default_factory=new_histogram)
    itl: HdrHistogram = field(default_factory=new_histogram)  # each streamed answer's mean token gap
    status: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[RequestOutcome] = field(default_factory=Counter)
    late: int = 0
    dropped: int = 0
    cached: int = 0
    degraded: int = 0
    max_users: int = 0
    cpu_max: float | None = None

    def add(
        self,
        *,
        intended: float,
        start: float,
        end: float,
        status: int,
        outcome: RequestOutcome,
        cached: bool,
        degraded: bool,
        ttft: float | None,
        itl: float | None = None,
    ) -> None:
        record(self.latency, end - intended)
        record(self.uncorrected, end - start)
        if ttft is not None:
            record(self.ttft, ttft)
        if itl is not None:
            record(self.itl, itl)
        self.status[str(status)] += 1
        self.outcomes[outcome] += 1
        self.late += (start - intended) > self.late_s
        self.cached += cached
        self.degraded += degraded

    @property
    def requests(self) -> int:
        return self.latency.get_total_count()

    def to_stats(self, start: float, end: float, target_rps: float | None) -> PhaseStats:
        duration = max(end - start, 1e-9)
        return PhaseStats(
            phase=self.phase,
            start=start,
            end=end,
            requests=self.requests,
            failures=self.outcomes[RequestOutcome.error],
            served=self.outcomes[RequestOutcome.served],
            shed=self.outcomes[RequestOutcome.shed],
            status_counts=dict(self.status),
            target_rps=target_rps,
            achieved_rps=self.requests / duration,
            late_starts=self.late,
            dropped=self.dropped,
            max_users=self.max_users,
            latency=summary(self.latency),
            latency_uncorrected=summary(self.uncorrected),
            ttft=summary(self.ttft) if self.ttft.get_total_count() else None,
            itl=summary(self.itl) if self.itl.get_total_count() else None,
            degraded=self.degraded,
            cached=self.cached,
            generator_cpu_max=self.cpu_max,
        )

