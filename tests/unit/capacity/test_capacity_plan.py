"""Replica math, the knee and the step judgement on constructed samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.capacity.judge import SLO, backlog_growth, judge_step
from harness.capacity.knee import find_knee
from harness.capacity.plan import recommend, replicas_needed
from harness.capacity.step import error_kinds
from harness.errors import ConfigError
from harness.schemas.capacity import BreakingRate, SearchResult, StepOutcome


@pytest.mark.parametrize(("peak", "headroom", "per", "want"),
                         [(100, 2, 40, 5), (100, 2, 50, 4), (10, 2, 40, 1), (30, 1.5, 9, 5),
                          (0.1, 1, 1e3, 1)])
def test_replicas(peak: float, headroom: float, per: float, want: int) -> None:
    assert replicas_needed(peak, headroom, per) == want


def test_replicas_rejects_nonsense() -> None:
    with pytest.raises(ConfigError):
        replicas_needed(100, 0.5, 10)
    with pytest.raises(ConfigError):
        replicas_needed(0, 2, 10)


def _search(lo: float | None, rss: int | None = 300 * 2**20) -> SearchResult:
    return SearchResult(name="workers=1", workers=1, seed_rps=40, seed_method="test", tolerance=0.05,
                        confidence=0.95, max_sustainable_rps=lo, bracket_rps=(lo, 42.0), bracket_width=0.05,
                        converged=True, peak_rss_bytes=rss, elapsed_s=1.0)


def test_recommendation_uses_the_lower_bound_and_states_assumptions() -> None:
    rec = recommend(_search(40.0), peak_qps=100, headroom=2, slo_text="P99 < 3 s")
    assert rec.replicas == 5 and rec.per_replica_rps == 40.0
    assert rec.memory_per_replica_bytes == 300 * 2**20
    assert any("linearly" in a for a in rec.assumptions) and any("MiB" in a for a in rec.assumptions)
    assert recommend(_search(None), peak_qps=100, headroom=2, slo_text="") is None
    assert rec.replicas_at_interval_low is None  # no breaking rate, no interval


def test_recommendation_says_what_the_interval_low_end_would_need() -> None:
    search = _search(40.0).model_copy(update={"breaking": BreakingRate(
        estimate_rps=42, interval_rps=(34, 50), rerun_interval_rps=(31, 54), confidence=0.95, hold_s=30,
        transition_width=0.05, trials=6)})
    rec = recommend(search, peak_qps=100, headroom=2, slo_text="P99 < 3 s")
    assert rec.replicas == 5 and rec.replicas_at_interval_low == 6  # 200 / 34 = 5.9
    assert any("34 req/s" in a and "6 replica" in a for a in rec.assumptions)


def test_knee() -> None:
    flat = [(5, 0.10), (10, 0.11), (20, 0.12), (30, 0.2), (40, 0.9)]
    knee = find_knee(flat)
    assert knee.rate_rps == 30 and knee.baseline_p50_s == 0.10
    assert find_knee([(5, 0.1), (10, 0.1)]).rate_rps is None
    assert find_knee([(5, 0.1)]).rate_rps is None


SLO_1S = SLO(p99_s=1.0, error_rate=0.01)


def test_judge_pass_fail_inconclusive() -> None:
    rng = np.random.default_rng(1)
    fast = rng.uniform(0.1, 0.3, 1000)
    assert judge_step(fast, 0, 1000, SLO_1S, rate=10, tolerance=0.05).outcome == StepOutcome.passed
    slow = rng.uniform(1.5, 3.0, 1000)
    assert judge_step(slow, 0, 1000, SLO_1S, rate=10, tolerance=0.05).outcome == StepOutcome.failed
    # 2% of requests right at the threshold's either side: the P99 interval straddles 1 s.
    edge = np.concatenate([rng.uniform(0.1, 0.3, 980), np.linspace(0.95, 1.05, 20)])
    assert judge_step(edge, 0, 1000, SLO_1S, rate=10, tolerance=0.05).outcome == StepOutcome.inconclusive
    few = rng.uniform(0.1, 0.3, 50)
    assert judge_step(few, 0, 50, SLO_1S, rate=10, tolerance=0.05).outcome == StepOutcome.inconclusive


def test_judge_errors() -> None:
    fast = np.full(1000, 0.2)
    assert judge_step(fast, 50, 1000, SLO_1S, rate=10, tolerance=0.05).outcome == StepOutcome.failed
    assert judge_step(fast, 12, 1000, SLO_1S, rate=10, tolerance=0.05).outcome == StepOutcome.inconclusive
    strict = SLO(p99_s=1.0, error_rate=0.01, strict_errors=True)
    assert judge_step(fast, 0, 100, strict, rate=10, tolerance=0.05).outcome == StepOutcome.inconclusive
    assert judge_step(fast, 0, 1000, strict, rate=10, tolerance=0.05).outcome == StepOutcome.passed


def test_backlog_growth_fails_a_step_that_does_not_keep_up() -> None:
    # 42 req/s arriving at a server that completes 40 req/s: the backlog grows 2 req/s.
    arrivals = np.arange(0, 20, 1 / 42)
    ends = np.arange(arrivals.size) / 40 + 0.1
    growth = backlog_growth(arrivals, ends, (0.0, 20.0))
    assert growth[0] == pytest.approx(2.0, rel=0.1)
    latency = ends - arrivals
    slo = SLO(p99_s=5.0, error_rate=0.01)
    judged = judge_step(latency, 0, arrivals.size, slo, rate=42, tolerance=0.05, growth=growth)
    assert judged.outcome == StepOutcome.failed and "backlog" in judged.reason
    # The same server at 38 req/s keeps up.
    arrivals = np.arange(0, 20, 1 / 38)
    steady = backlog_growth(arrivals, arrivals + 0.1, (0.0, 20.0))
    assert abs(steady[0]) < 0.1


def test_error_kinds() -> None:
    rows = pd.DataFrame({"status": [200, 200, 0, 429, 429, 503, 200, 404],
                         "degraded": [False, True, False, False, False, False, False, False]})
    assert error_kinds(rows, degraded_is_error=True) == {"no response": 1, "429": 2, "503": 1, "degraded": 1}
    assert error_kinds(rows, degraded_is_error=False) == {"no response": 1, "429": 2, "503": 1}
