"""The search loop around an injected step function: re-measuring, budgets, the conservative rule."""

from __future__ import annotations

from harness.capacity.run import SearchLoop
from harness.capacity.search import RateSearch
from harness.capacity.settings import CapacitySettings
from harness.capacity.step import StepSettings
from harness.schemas.capacity import CapacityStep, StepOutcome


class Oracle:
    """Deterministic: passes up to 40 req/s; between 40 and 41 only a step of >= 20 s can tell (fail)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, int | None]] = []
        self.clock = 0.0  # a step takes its measured seconds plus 5 s of overhead

    def now(self) -> float:
        return self.clock

    def measure(self, search: str, index: int, rate: float, steady_s: float,
                remeasure_of: int | None = None) -> CapacityStep:
        self.calls.append((rate, steady_s, remeasure_of))
        self.clock += steady_s + 5
        if rate <= 40:
            outcome = StepOutcome.passed
        elif rate <= 41 and steady_s < 20:
            outcome = StepOutcome.inconclusive
        else:
            outcome = StepOutcome.failed
        return CapacityStep(search=search, index=index, rate_rps=rate, duration_s=steady_s,
                            achieved_rps=rate, requests=100, errors=0, error_rate=0, error_rate_ci=(0, 0.03),
                            p50_s=0.1, p99_s=0.2, p99_ci_s=(0.15, 0.3), mean_latency_s=0.1,
                            in_flight_little=rate * 0.1, in_flight_observed=None, drain_wait_s=0.0,
                            drained=True, outcome=outcome, reason="oracle", remeasure_of=remeasure_of)


def loop(oracle: Oracle, budget_s: float = 3600, max_steps: int = 30) -> SearchLoop:
    settings = CapacitySettings(max_steps=max_steps)
    steps = StepSettings(warmup_s=0, min_step_s=12, max_step_s=60, min_samples=10)
    return SearchLoop("test", oracle, settings, steps, budget_s, say=lambda _: None, now=oracle.now)


def test_inconclusive_step_is_remeasured_twice_as_long() -> None:
    oracle = Oracle()
    search = RateSearch(seed=40.5, tolerance=0.05)
    state = loop(oracle)
    assert state.run(search)
    first, second = oracle.calls[0], oracle.calls[1]
    assert first[0] == second[0] == 40.5 and second[1] == 2 * first[1] and second[2] == 0
    assert search.first_fail == 40.5 and search.last_pass is not None and search.last_pass <= 40


def test_still_inconclusive_counts_as_failure() -> None:
    oracle = Oracle()
    state = loop(oracle)
    state.step_settings = StepSettings(warmup_s=0, min_step_s=4, max_step_s=8, min_samples=10)
    search = RateSearch(seed=40.5, tolerance=0.05)
    state.run(search)
    assert search.first_fail == 40.5
    assert any("inconclusive" in n for n in state.notes)


def test_budget_stops_the_search_unconverged() -> None:
    oracle = Oracle()
    state = loop(oracle, budget_s=30)  # room for one 12 s step and its overhead, not two
    search = RateSearch(seed=10, tolerance=0.05)
    assert not state.run(search)
    assert len(oracle.calls) == 1 and any("budget" in n for n in state.notes)


def test_step_cap() -> None:
    oracle = Oracle()
    state = loop(oracle, max_steps=2)
    assert not state.run(RateSearch(seed=1, tolerance=0.05))
    assert len(oracle.calls) == 2


def test_converged_answer_is_confirmed_on_a_longer_step() -> None:
    oracle = Oracle()
    state = loop(oracle)
    search = RateSearch(seed=30, tolerance=0.05)
    assert state.run(search)
    rate, steady_s, remeasure_of = oracle.calls[-1]
    assert rate == search.last_pass
    earlier = next(s for s in state.steps if s.rate_rps == rate and s.remeasure_of is None)
    # Twice a step, and at least the hold time (StepSettings.hold_s, 30 s).
    assert steady_s == state.step_settings.confirm_s(rate) == max(2 * earlier.duration_s, 30)
    assert remeasure_of == earlier.index
    assert state.holds_long(rate)
    assert sum(1 for c in oracle.calls if c[0] == rate) == 2  # confirmed once, not again


class LuckyOracle(Oracle):
    """Short steps pass up to 40 req/s, but above 36 the target cannot hold it for 20 s or more."""

    def measure(self, search: str, index: int, rate: float, steady_s: float,
                remeasure_of: int | None = None) -> CapacityStep:
        step = super().measure(search, index, rate, steady_s, remeasure_of)
        if 36 < rate <= 40 and steady_s >= 20:
            step = step.model_copy(update={"outcome": StepOutcome.failed})
        return step


def test_failed_confirmation_moves_the_answer_down() -> None:
    oracle = LuckyOracle()
    state = loop(oracle)
    search = RateSearch(seed=39, tolerance=0.05)
    assert state.run(search)
    assert search.last_pass is not None and search.last_pass <= 36
    assert search.first_fail is not None and search.first_fail <= 40
    assert state.holds_long(search.last_pass)
    assert any("confirmation" in n for n in state.notes)
