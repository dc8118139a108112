"""Saturation guard and stop conditions: when the numbers describe the generator, or are hopeless.

Pure functions over the master's live samples (``live.jsonl``) and the phase statistics.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from harness.errors import ConfigError
from harness.schemas.checklist import Checklist, Severity
from harness.schemas.timeline import ScenarioStats

# Checklist measures a sliding window of client samples can judge, by the live sample field.
_WINDOW_MEASURES = {
    "p99_latency": "window_p99",
    "client_p99": "window_p99",
    "error_rate": "window_error_rate",
    "client_error_rate": "window_error_rate",
}


class LoadSettings(BaseSettings):
    """Environment ``LOADGATE_*``: generator knobs, when a run is invalid, and when it stops early."""

    model_config = SettingsConfigDict(env_prefix="LOADGATE_")

    connections: int | None = Field(
        None,
        gt=0,
        description="connections per worker (None: one per request in flight); requests "
        "waiting for one start late, as behind a real client's pool",
    )
    drain_s: float = Field(
        15.0, ge=0, description="after the last phase, wait this long for in-flight requests"
    )
    fault_lease_s: float = Field(
        10.0, gt=0, description="an injected fault ends by itself this long after its last renewal"
    )

    cpu_max: float = Field(90.0, description="generator CPU percent of one core")
    cpu_sustained_s: int = Field(10, description="consecutive seconds above cpu_max that invalidate")
    late_share_max: float = Field(0.05, description="share of requests starting late that invalidates")
    late_ms: float = Field(50.0, description="a request starting this much after schedule is late")
    issued_min: float = Field(0.95, description="issued / promised arrival rate below this invalidates")
    stop: bool = Field(True, description="abort when a blocker is hopelessly broken")
    stop_window_s: float = 30.0
    stop_factor: float = Field(3.0, description="hopeless: window P99 above factor x the limit")
    stop_error_rate: float = Field(0.5, description="hopeless: window error rate above this")
    stop_min_samples: int = 100

    expect_workers: int = Field(0, ge=0, description="workers on other hosts (`loadgate worker`) to wait for")
    master_bind: str | None = Field(None, description="HOST:PORT the Locust master listens on for workers")
    expect_workers_wait_s: float = Field(120.0, gt=0, description="how long to wait for them")

    def bind(self) -> tuple[str, int | None]:
        """(host, port) the master listens on; port None: a free one (local workers only)."""
        if not self.master_bind:
            return "127.0.0.1", None
        host, _, port = self.master_bind.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--master-bind '{self.master_bind}': write HOST:PORT")
        return host.strip("[]"), int(port)


def stop_limits(checklist: Checklist, profile: str, scenario: str) -> list[tuple[str, str, float]]:
    """(phase, live field, limit) for each blocker on this scenario a sliding window can judge."""
    out = []
    for item in checklist.items_for(profile):
        field = _WINDOW_MEASURES.get(item.measure or "")
        if (
            item.scenario == scenario
            and item.severity == Severity.blocker
            and field
            and item.threshold
            and item.threshold.op in ("<", "<=")
        ):
            out.append((item.phase or "", field, item.threshold.value))
    return out


def hopeless(
    sample: dict[str, Any],
    limits: list[tuple[str, str, float]],
    phase_start: float | None,
    settings: LoadSettings,
) -> str | None:
    """The reason to abort now, or None. Judged only on a window lying wholly inside the phase."""
    if not settings.stop or (sample.get("window_n") or 0) < settings.stop_min_samples:
        return None
    if phase_start is None or sample["t"] - phase_start < settings.stop_window_s:
        return None
    for phase, field, limit in limits:
        value = sample.get(field)
        if value is None or (phase and phase != sample.get("phase")):
            continue
        if field == "window_p99" and value > settings.stop_factor * limit:
            return (
                f"P99 {value:.2f} s over the last {settings.stop_window_s:g} s of phase "
                f"'{sample['phase']}' is more than {settings.stop_factor:g}x the {limit:g} s limit"
            )
        if field == "window_error_rate" and value > max(settings.stop_error_rate, limit):
            return (
                f"error rate {value:.1%} over the last {settings.stop_window_s:g} s of "
                f"phase '{sample['phase']}' (limit {limit:g})"
            )
    return None


def rate_floor(promised_rps: float, duration_s: float, share: float, poisson: bool) -> float:
    """The least rate that still keeps a promise: a share of it, less 4 sigma of Poisson noise.

    Not 3 sigma: that fails one honest phase in 740 by the draw alone, and a test suite checks dozens
    of phases (CI saw a 20 s phase draw 426 of 500 expected arrivals, 3.3 sigma low).
    """
    expected = promised_rps * duration_s
    floor = share * expected
    if poisson:
        floor = min(floor, expected - 4 * math.sqrt(expected))
    return floor / max(duration_s, 1e-9)


def invalid_reasons(
    samples: list[dict[str, Any]], stats: ScenarioStats, settings: LoadSettings, poisson: bool,
    unanswered: int = 0,
) -> list[str]:
    """Why this scenario's numbers describe the generator rather than the service.

    ``unanswered``: requests still in flight when the generator ended. The generator did issue them
    (a service that stalls holds hundreds), in phases the count does not say: a phase's shortfall that
    they could fill is not the generator's.
    """
    reasons = []
    run = longest = 0
    hot: set[str] = set()  # the workers (every one that reports, remote ones too) above the limit
    for s in samples:
        run = run + 1 if s.get("phase") and s.get("cpu_max", 0) > settings.cpu_max else 0
        longest = max(longest, run)
        if run:
            hot |= {w for w, cpu in (s.get("cpu_by_worker") or {}).items() if cpu > settings.cpu_max}
    if longest >= settings.cpu_sustained_s:
        which = f" (workers {', '.join(sorted(hot))})" if hot else " (the master)"
        reasons.append(
            f"load generator CPU above {settings.cpu_max:g}% for {longest} s{which}: add --load-workers "
            f"or a generator host (loadgate worker)"
        )
    for p in stats.phases:
        if p.requests and p.late_starts / p.requests > settings.late_share_max:
            reasons.append(
                f"phase '{p.phase}': {p.late_starts / p.requests:.1%} of requests started more than "
                f"{settings.late_ms:g} ms late (limit {settings.late_share_max:.0%}): the generator "
                f"could not keep the schedule"
            )
        issued = (p.requests + p.dropped + unanswered) / max(p.end - p.start, 1e-9)
        if p.target_rps and issued < rate_floor(p.target_rps, p.end - p.start, settings.issued_min, poisson):
            reasons.append(
                f"phase '{p.phase}': the generator issued {issued:.1f} req/s of the promised "
                f"{p.target_rps:.1f} req/s"
            )
    return reasons
