"""How many replicas a peak needs, from one replica's conservative capacity."""

from __future__ import annotations

import math

from harness.errors import ConfigError
from harness.schemas.capacity import Recommendation, SearchResult


def replicas_needed(peak_qps: float, headroom: float, per_replica_rps: float) -> int:
    """ceil(peak * headroom / per-replica capacity), at least one."""
    if peak_qps <= 0 or headroom < 1:
        raise ConfigError(f"need peak_qps > 0 and headroom >= 1, got {peak_qps} and {headroom}",
                          field="peak_qps" if peak_qps <= 0 else "headroom")
    if per_replica_rps <= 0:
        raise ValueError("per-replica capacity must be positive")
    # Round before ceil so 2.0000000001 (float noise) is 2 replicas, not 3.
    return max(1, math.ceil(round(peak_qps * headroom / per_replica_rps, 9)))


def recommend(search: SearchResult, *, peak_qps: float, headroom: float,
              slo_text: str) -> Recommendation | None:
    """None when the search found no passing rate (no capacity to divide by)."""
    per_replica = search.max_sustainable_rps
    if per_replica is None:
        return None
    replicas = replicas_needed(peak_qps, headroom, per_replica)
    assumptions = [
        f"one replica holds {per_replica:.3g} req/s: the highest rate that met the SLO ({slo_text}) in "
        f"search '{search.name}', the lower end of its bracket {_bracket(search)}",
        f"replicas scale linearly behind a load balancer that spreads requests evenly; shared "
        f"dependencies (Redis, the LLM backend) are not the bottleneck at {peak_qps * headroom:.3g} req/s",
        f"headroom {headroom:g}x covers bursts, a replica lost in a deploy or failure, and growth",
        "the production request mix (prompt lengths, cache hit ratio) matches the load generator's",
    ]
    replicas_low = None
    if search.breaking is not None:
        low = search.breaking.interval_rps[0]
        replicas_low = replicas_needed(peak_qps, headroom, low)
        assumptions.append(f"the breaking rate may be as low as {low:.3g} req/s (its "
                           f"{search.breaking.confidence:.0%} interval's lower end), which would need "
                           f"{replicas_low} replica(s)")
    if search.peak_rss_bytes:
        assumptions.append(f"memory per replica is the peak RSS seen across the search "
                           f"({search.peak_rss_bytes / 2**20:.0f} MiB, all workers); request more for "
                           f"safety, since a longer run or larger inputs can grow it")
    return Recommendation(peak_qps=peak_qps, headroom=headroom, per_replica_rps=per_replica,
                          per_replica_source=search.name, replicas=replicas,
                          replicas_at_interval_low=replicas_low,
                          memory_per_replica_bytes=search.peak_rss_bytes, assumptions=assumptions)


def _bracket(search: SearchResult) -> str:
    return "[" + ", ".join("?" if v is None else f"{v:.3g}" for v in search.bracket_rps) + "] req/s"
