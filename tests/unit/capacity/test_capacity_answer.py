"""The answer from searches: replica plans per peak with their cost, and each what-if against the
baseline, a change beyond the baseline's rerun interval called real."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.capacity.answer import replica_plans, what_if
from harness.capacity.settings import CapacitySettings
from harness.schemas.capacity import BreakingRate, SearchResult


def _search(name: str, holds: float, breaks: float, *, llm: float = 0.0, workers: int = 1) -> SearchResult:
    breaking = BreakingRate(estimate_rps=breaks, interval_rps=(breaks * 0.9, breaks * 1.1),
                            rerun_interval_rps=(breaks * 0.86, breaks * 1.15), confidence=0.95, hold_s=30,
                            transition_width=0.05, trials=6)
    return SearchResult(name=name, workers=workers, llm_extra_latency_s=llm, seed_rps=holds, seed_method="t",
                        tolerance=0.1, confidence=0.95, max_sustainable_rps=holds,
                        bracket_rps=(holds, holds * 1.1), bracket_width=0.1, converged=True,
                        breaking=breaking, fresh_share=1.0, elapsed_s=1)


def test_a_plan_per_peak_with_cost() -> None:
    settings = CapacitySettings(peak_qps=[50, 100, 200], headroom=2, cost_per_replica=120)
    plans = replica_plans(_search("w1", 20.0, 22.0), settings)
    assert [(p.peak_qps, p.replicas, p.cost) for p in plans] == [(50, 5, 600), (100, 10, 1200),
                                                                 (200, 20, 2400)]
    # If a replica held only the interval's low end (19.8 req/s): 100 * 2 / 19.8 = 10.1 -> 11.
    assert plans[1].replicas_at_interval_low == 11
    assert replica_plans(_search("w1", 20.0, 22.0), CapacitySettings()) == []  # no peak, no plan


def test_a_slower_llm_beyond_the_rerun_interval_is_real_a_small_move_is_noise() -> None:
    settings = CapacitySettings(peak_qps=[100])
    base = _search("workers=1", 20.0, 22.0)
    slow = what_if(_search("workers=1 llm+0.5s", 13.0, 14.5, llm=0.5), base, settings)
    assert slow.change == pytest.approx(-0.35) and slow.beyond_rerun_interval is True
    assert slow.breaking_change == pytest.approx(14.5 / 22 - 1) and slow.replicas == 16
    assert "llm_delay_s=0.5" in slow.method and slow.baseline == "workers=1"
    near = what_if(_search("workers=2", 21.0, 23.0, workers=2), base, settings)
    assert near.beyond_rerun_interval is False and "2 uvicorn worker(s)" in near.method


def test_settings_take_one_peak_or_several_and_reject_nonsense() -> None:
    assert CapacitySettings(peak_qps=120).peak_qps == [120]
    assert CapacitySettings(peak_qps=[50, 100]).peak_qps == [50, 100]
    with pytest.raises(ValidationError, match="above 0"):
        CapacitySettings(peak_qps=[50, 0])
    with pytest.raises(ValidationError, match="between 0 and 1"):
        CapacitySettings(fresh_share_what_if=[1.5])
