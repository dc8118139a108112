"""The answer from searches: replica plans per peak with their cost, and each what-if against the
baseline, a change beyond the baseline's rerun interval called real."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.capacity.answer import replica_plans, what_if
from harness.capacity.settings import CapacitySettings
from harness.schemas.capacity import BreakingRate, CapacityStep, SearchResult, StepOutcome


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
    slow = what_if(_search("workers=1 llm+0.5s", 13.0, 14.5, llm=0.5), base, settings, [])
    assert slow.change == pytest.approx(-0.35) and slow.beyond_rerun_interval is True
    assert slow.breaking_change == pytest.approx(14.5 / 22 - 1) and slow.replicas == 16
    assert "llm_delay_s=0.5" in slow.method and slow.baseline == "workers=1"
    near = what_if(_search("workers=2", 21.0, 23.0, workers=2), base, settings, [])
    assert near.beyond_rerun_interval is False and "2 uvicorn worker(s)" in near.method


def test_settings_take_one_peak_or_several_and_reject_nonsense() -> None:
    assert CapacitySettings(peak_qps=120).peak_qps == [120]
    assert CapacitySettings(peak_qps=[50, 100]).peak_qps == [50, 100]
    with pytest.raises(ValidationError, match="above 0"):
        CapacitySettings(peak_qps=[50, 0])
    with pytest.raises(ValidationError, match="between 0 and 1"):
        CapacitySettings(fresh_share_what_if=[1.5])


def _step(search: str, index: int, rate: float, outcome: StepOutcome) -> CapacityStep:
    return CapacityStep(search=search, index=index, rate_rps=rate, duration_s=30, achieved_rps=rate,
                        requests=100, errors=0, error_kinds={}, error_rate=0.0, error_rate_ci=(0.0, 0.03),
                        p50_s=None, p95_s=None, p99_s=None, p99_ci_s=None, mean_latency_s=None,
                        in_flight_little=None,
                        in_flight_observed=None, drain_wait_s=0.0, drained=True, outcome=outcome, reason="t")


def test_a_what_if_that_held_nothing_states_its_drop_as_a_bound_from_its_lowest_failure() -> None:
    base = _search("workers=1", 20.0, 22.0)
    slow = _search("workers=1 llm+0.5s", 0.0, 0.0, llm=0.5).model_copy(
        update={"max_sustainable_rps": None, "breaking": None, "bracket_rps": (None, 3.0)})
    steps = [_step(slow.name, 0, 20.0, StepOutcome.failed), _step(slow.name, 1, 6.0, StepOutcome.failed),
             _step(slow.name, 2, 3.0, StepOutcome.inconclusive),  # proves nothing: not the bound
             _step(base.name, 0, 2.0, StepOutcome.failed)]  # another search's failure is not this one's
    bounded = what_if(slow, base, CapacitySettings(), steps)
    assert bounded.change is None and bounded.failed_from_rps == 6.0
    assert bounded.change_at_most == pytest.approx(6.0 / 20.0 - 1)
    assert bounded.beyond_rerun_interval is True  # 6 is below the baseline's rerun interval (18.9-25.3)
    unmeasured = what_if(slow, base, CapacitySettings(), steps[2:3])
    assert unmeasured.change_at_most is None and unmeasured.beyond_rerun_interval is None
