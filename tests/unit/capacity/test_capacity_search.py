"""The rate search against deterministic monotone oracles: an injected step function, no target."""

from __future__ import annotations

import pytest

from harness.capacity.search import RateSearch


def run(search: RateSearch, capacity: float, max_steps: int = 60) -> list[float]:
    measured = []
    while (rate := search.next_rate()) is not None:
        measured.append(rate)
        search.record(rate, rate <= capacity)
        assert len(measured) <= max_steps, "search did not terminate"
    return measured


@pytest.mark.parametrize("seed", [5.0, 39.0, 40.0, 41.0, 400.0])
@pytest.mark.parametrize("tolerance", [0.05, 0.02])
def test_brackets_the_capacity_within_tolerance(seed: float, tolerance: float) -> None:
    capacity = 40.0
    search = RateSearch(seed=seed, tolerance=tolerance)
    run(search, capacity)
    assert search.converged
    assert search.last_pass <= capacity < search.first_fail
    assert (search.first_fail - search.last_pass) / search.last_pass <= tolerance + 1e-9


def test_seed_just_below_capacity_probes_above_it() -> None:
    # A throughput estimate slightly low (as a saturation probe's is): the search must go above it.
    search = RateSearch(seed=38.0, tolerance=0.05)
    measured = run(search, capacity=40.0)
    assert max(measured) > 40.0
    assert search.last_pass >= 40.0 / 1.05


def test_good_seed_converges_in_few_steps() -> None:
    search = RateSearch(seed=39.5, tolerance=0.05)
    assert len(run(search, capacity=40.0)) <= 3


def test_far_seed_costs_logarithmically_many_steps() -> None:
    search = RateSearch(seed=1.0, tolerance=0.05)
    assert len(run(search, capacity=1000.0)) <= 20


def test_stops_at_the_bounds() -> None:
    above = RateSearch(seed=10.0, tolerance=0.05, max_rate=50.0)
    run(above, capacity=1e9)
    assert above.first_fail is None and above.last_pass == 50.0 and not above.converged
    below = RateSearch(seed=10.0, tolerance=0.05, min_rate=1.0)
    run(below, capacity=0.1)
    assert below.last_pass is None and below.first_fail == 1.0


def test_contradicting_results_keep_the_bracket_conservative() -> None:
    search = RateSearch(seed=40.0, tolerance=0.05)
    search.record(40.0, False)
    search.record(45.0, True)  # noise: a pass above a failure
    assert search.first_fail == 40.0 and search.last_pass is None
    search.record(30.0, True)
    search.record(28.0, False)  # a failure below a pass moves the bracket down
    assert search.first_fail == 28.0 and search.last_pass is None
    assert len(search.notes) == 2


def test_rejects_bad_tolerance() -> None:
    with pytest.raises(ValueError):
        RateSearch(seed=1.0, tolerance=0)
