"""The breaking rate's interval against searches whose pass/fail draws come from a known hazard: it
must hold the true rate, and other runs' estimates, about as often as it claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.capacity.breaking import Trial, breaking_rate, trials
from harness.capacity.run import SearchLoop
from harness.capacity.search import RateSearch
from harness.capacity.settings import CapacitySettings
from harness.capacity.step import GENERATOR_SATURATED, StepSettings
from harness.schemas.capacity import CapacityStep, StepOutcome

HOLD_S = 30.0
TRUE_RATE = 40.0


def _step(index: int, rate: float, seconds: float, outcome: StepOutcome, reason: str = "drawn",
          remeasure_of: int | None = None) -> CapacityStep:
    return CapacityStep(search="sim", index=index, rate_rps=rate, duration_s=seconds, achieved_rps=rate,
                        requests=int(rate * seconds), errors=0, error_rate=0, error_rate_ci=(0, 0.01),
                        p50_s=0.1, p99_s=0.2, p99_ci_s=(0.15, 0.3), mean_latency_s=0.1,
                        in_flight_little=rate * 0.1, in_flight_observed=None, drain_wait_s=0.0, drained=True,
                        outcome=outcome, reason=reason, remeasure_of=remeasure_of)


class HazardTarget:
    """A step of T s at rate r passes with probability exp(-T h(r)), h(TRUE_RATE) = ln 2 / HOLD_S,
    the hazard growing e-fold per ``width * TRUE_RATE`` req/s: the model the estimator assumes."""

    def __init__(self, rng: np.random.Generator, width: float) -> None:
        self.rng, self.width, self.clock = rng, width, 0.0

    def measure(self, search: str, index: int, rate: float, steady_s: float,
                remeasure_of: int | None = None) -> CapacityStep:
        self.clock += steady_s + 5
        hazard = math.log(2) / HOLD_S * math.exp((rate - TRUE_RATE) / (self.width * TRUE_RATE))
        passed = self.rng.random() < math.exp(-steady_s * hazard)
        return _step(index, rate, steady_s, StepOutcome.passed if passed else StepOutcome.failed,
                     remeasure_of=remeasure_of)


def _search(rng: np.random.Generator, width: float) -> list[CapacityStep]:
    """One quick-mode search (8 s steps, 10% tolerance, a 30 s confirmation) from a seed off by up to 30%."""
    target = HazardTarget(rng, width)
    steps = StepSettings(warmup_s=0, min_step_s=8, max_step_s=30, hold_s=HOLD_S)
    state = SearchLoop("sim", target, CapacitySettings(), steps, deadline=3600, say=lambda _: None,
                       now=lambda: target.clock)
    state.run(RateSearch(seed=TRUE_RATE * rng.uniform(0.8, 1.3), tolerance=0.1))
    return state.steps


@pytest.mark.parametrize(("width", "floor"), [(0.005, 0.95), (0.05, 0.9), (0.1, 0.85)])
def test_the_intervals_hold_the_true_breaking_rate_and_reruns_estimates(width: float, floor: float) -> None:
    rng = np.random.default_rng(7)
    found = [breaking_rate(trials(_search(rng, width)), hold_s=HOLD_S, confidence=0.95) for _ in range(120)]
    results = [b for b in found if b is not None]
    assert len(results) >= 110, "searches that saw both a pass and a fail"
    low, high = np.array([b.interval_rps for b in results]).T
    estimates = np.array([b.estimate_rps for b in results])
    assert np.mean((low <= TRUE_RATE) & (high >= TRUE_RATE)) >= floor
    assert abs(np.median(estimates) - TRUE_RATE) / TRUE_RATE < 0.03
    # What a user sees: a rerun's estimate inside the first run's rerun interval.
    rerun_low, rerun_high = np.array([b.rerun_interval_rps for b in results]).T
    inside = (rerun_low[:, None] <= estimates[None, :]) & (estimates[None, :] <= rerun_high[:, None])
    pairs = inside.sum() - np.trace(inside)
    assert pairs / (len(results) * (len(results) - 1)) >= floor
    assert np.all((rerun_low < low) & (rerun_high > high))


def test_separated_steps_give_an_interval_wider_than_the_bracket() -> None:
    # What a real one-worker search recorded (issue #7, run cap9): every pass below every fail.
    found = [Trial(44.78, 8, False), Trial(40.71, 9, False), Trial(33.92, 10, True), Trial(37.31, 9, True),
             Trial(37.31, 30, True)]
    result = breaking_rate(found, hold_s=HOLD_S, confidence=0.95)
    assert result is not None
    low, high = result.interval_rps
    assert low < 37.31 < result.estimate_rps < 40.71 < high
    # Reruns on the same machine answered 33.3-35.4 (last passes) and 34.3-36.6 (estimates).
    assert low <= 33.3 and high >= 40.71


def test_a_longer_pass_moves_the_estimate_up() -> None:
    short = [Trial(30, 8, True), Trial(40, 8, False)]
    held = [Trial(30, 120, True), Trial(40, 8, False)]
    a = breaking_rate(short, hold_s=HOLD_S, confidence=0.95)
    b = breaking_rate(held, hold_s=HOLD_S, confidence=0.95)
    assert a is not None and b is not None and b.estimate_rps > a.estimate_rps


def test_no_estimate_from_one_side_only() -> None:
    assert breaking_rate([Trial(10, 8, True), Trial(20, 8, True)], hold_s=HOLD_S, confidence=0.95) is None
    assert breaking_rate([Trial(10, 8, False)], hold_s=HOLD_S, confidence=0.95) is None
    assert breaking_rate([], hold_s=HOLD_S, confidence=0.95) is None


def test_trials_are_the_steps_that_passed_or_failed() -> None:
    steps = [
        _step(0, 30, 8, StepOutcome.passed),
        _step(1, 60, 8, StepOutcome.inconclusive, reason=f"{GENERATOR_SATURATED} (behind schedule)"),
        _step(2, 45, 8, StepOutcome.inconclusive),
        _step(3, 45, 16, StepOutcome.failed, remeasure_of=2),
        _step(4, 40, 8, StepOutcome.inconclusive),  # the search counts it a failure; it observed none
        _step(5, 30, 30, StepOutcome.passed, remeasure_of=0),  # a confirmation keeps what it confirms
    ]
    assert trials(steps) == [Trial(30, 8, True), Trial(45, 16, False), Trial(30, 30, True)]
