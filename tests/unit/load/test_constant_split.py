"""Constant arrivals over several workers: one fleet-wide schedule, arrival i to worker i mod N.

Each phase then sends exactly its rate x duration, evenly spaced, whatever the worker count; N
streams with their own random phases would each send +-1 per phase and interleave unevenly.
"""

from __future__ import annotations

import pytest

from harness.load.plan import LoadPlan, PhaseSpec, arrivals

PHASES = [PhaseSpec(name="warmup", duration_s=2, rate_rps=10),
          PhaseSpec(name="steady", duration_s=10, rate_rps=30)]


def _shares(workers: int, seed: int | None, t0: float = 5000.0) -> list[list[tuple[float, str]]]:
    plan = LoadPlan(scenario="target_2x", arrival="constant", t0=t0, seed=seed, workers=workers,
                    phases=PHASES)
    return [[(a.t, a.phase.name) for a in arrivals(plan, plan.rng("arrivals", w), w)] for w in range(workers)]


@pytest.mark.parametrize("seed", [None, 11])
def test_three_workers_send_each_phase_exactly_and_evenly_spaced(seed: int | None) -> None:
    shares = _shares(3, seed)
    pooled = sorted(a for share in shares for a in share)
    assert len(pooled) == len(set(pooled))  # no arrival sent by two workers
    for phase, rate, duration in (("warmup", 10, 2), ("steady", 30, 10)):
        times = [t for t, name in pooled if name == phase]
        assert len(times) == rate * duration  # 20 and 300: not 18 or 21
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert max(gaps) - min(gaps) < 1e-6 and gaps[0] == pytest.approx(1 / rate)
        per_worker = [sum(1 for _, name in share if name == phase) for share in shares]
        assert max(per_worker) - min(per_worker) <= 1


def test_workers_agree_on_the_schedule_without_a_seed_and_runs_differ() -> None:
    # Each worker computes its share alone: the fleet's offset must come out the same on all of them.
    assert _shares(3, None) == _shares(3, None)
    assert _shares(3, None, t0=5000.0) != _shares(3, None, t0=5000.37)


def test_one_worker_keeps_its_own_stream() -> None:
    (share,) = _shares(1, 4)
    assert len(share) == 20 + 300
