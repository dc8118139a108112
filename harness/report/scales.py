"""Axis scales of the SVG charts: value ranges, tick positions and labels, the percentile axis."""

from __future__ import annotations

import math

from harness.report.fmt import fmt_value


def nice_step(span: float, target: int = 5) -> float:
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def unit_scale(unit: str, hi: float) -> float:
    """Bytes tick in whole MiB or GiB; everything else in its own unit."""
    if unit.lower() in ("bytes", "byte", "b"):
        return 2.0**30 if hi >= 2**30 else 2.0**20 if hi >= 2**20 else 1.0
    return 1.0


def value_ticks(lo: float, hi: float, scale: float = 1.0) -> list[float]:
    step = nice_step((hi - lo) / scale) * scale
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-6:
        ticks.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return ticks


TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def time_ticks(lo: float, hi: float, origin: float) -> list[float]:
    span = hi - lo
    step = next((s for s in TIME_STEPS if span / s <= 7), TIME_STEPS[-1])
    first = origin + math.ceil((lo - origin) / step) * step
    return [first + i * step for i in range(int((hi - first) // step) + 1)]


def y_range(values: list[float], fixed: tuple[float, float] | None, zero_based: bool,
             unit: str) -> tuple[float, float]:
    if fixed:
        return fixed
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    if zero_based:  # rates and latencies: so that changes are not exaggerated
        lo = min(lo, 0.0)
    else:  # a level with small moves (memory): room around the data so a slope shows
        pad = (hi - lo) * 0.15 or abs(hi) * 0.02 or 1.0
        lo, hi = lo - pad, hi + pad
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = nice_step((hi - lo) / unit_scale(unit, hi)) * unit_scale(unit, hi)
    lo = lo if zero_based and lo == 0 else math.floor(lo / step) * step
    top = math.ceil(hi * (1.04 if zero_based else 1.0) / step) * step
    if unit.lower() in ("ratio", "fraction") and max(values) <= 1:
        top = min(top, 1.0)  # a share never exceeds 100%
    return lo, top


def tick_labels(ticks: list[float], unit: str) -> list[str]:
    """Labels with as many digits as it takes to tell neighbouring ticks apart (412.5 vs 413 MiB)."""
    for digits in (3, 4, 5, 6):
        labels = [fmt_value(t, unit, digits) for t in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def percentile_x(p: float) -> float:
    """HdrHistogram's percentile axis: log10 of 1/(1-p), so 90, 99, 99.9 are evenly spaced."""
    p = min(max(p, 0.0), 99.9999)
    return math.log10(1.0 / (1.0 - p / 100.0))


PERCENTILE_TICKS = ((0.0, "0%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"), (99.99, "99.99%"),
                     (99.999, "99.999%"), (99.9999, "99.9999%"))
