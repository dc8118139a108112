"""The knee: the lowest rate at which median latency departs from its flat, low-load level."""

from __future__ import annotations

from collections.abc import Sequence

from harness.schemas.capacity import Knee

KNEE_FACTOR = 1.5


def find_knee(points: Sequence[tuple[float, float | None]], factor: float = KNEE_FACTOR) -> Knee:
    """``points``: (rate, P50) per step. The baseline is the P50 at the lowest measured rate."""
    measured = sorted((r, p) for r, p in points if p is not None)
    method = f"first rate whose P50 exceeds {factor:g}x the P50 at the lowest measured rate"
    if len(measured) < 2:
        return Knee(rate_rps=None, p50_s=None, baseline_p50_s=measured[0][1] if measured else None,
                    factor=factor, method=method + " (needs 2 steps)")
    baseline = measured[0][1]
    for rate, p50 in measured[1:]:
        if p50 > factor * baseline:
            return Knee(rate_rps=rate, p50_s=p50, baseline_p50_s=baseline, factor=factor, method=method)
    return Knee(rate_rps=None, p50_s=None, baseline_p50_s=baseline, factor=factor,
                method=method + " (latency stayed flat over every measured rate)")
