from __future__ import annotations

import random

import pytest

from harness.errors import LoadError
from harness.load.plan import SCENARIOS, arrivals, build_plan, resolve
from harness.schemas import FaultSpec, ScenarioPlan

PHASES = {
    "target_2x": ["warmup", "steady"],
    "soak": ["warmup", "steady"],
    "concurrency_1000": ["ramp", "hold"],
    "llm_slowdown": ["warmup", "before", "fault", "recovery"],
    "redis_outage": ["warmup", "before", "fault", "recovery"],
    "spike": ["warmup", "base", "spike", "after"],
    "trace_replay": ["replay"],
    "agent_sessions": ["sessions", "tool_fault"],
}


def _plan(name: str, scenario: ScenarioPlan, target_qps: float = 25):
    _, build, plan = resolve(name, scenario, lambda: pytest.fail("the checklist is not read"))
    return build_plan(name, plan, target_qps, build)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_scenario_has_its_phase_names(name: str) -> None:
    scenario = ScenarioPlan(warmup_s=5, steady_s=10, rate_x=2, users=100, spike_x=4, fault_s=7, recovery_s=8,
                            trace="scenarios/data/trace_sample.csv", turn_rate_rps=8)
    assert [p.name for p in _plan(name, scenario).phases] == PHASES[name]


def test_target_2x_steady_rate_is_rate_x_times_target() -> None:
    plan = _plan("target_2x", ScenarioPlan(warmup_s=5, steady_s=10, rate_x=2))
    assert plan.phases[1].rate_rps == 50 and plan.phases[0].rate_rps == 25
    assert plan.total_s == 15


def test_fault_scenarios_carry_their_fault_only_in_the_fault_phase() -> None:
    plan = _plan("redis_outage", ScenarioPlan(warmup_s=0, steady_s=10, rate_x=1))
    assert [p.fault for p in plan.phases] == [None, FaultSpec(redis_down=True), None]
    slow = _plan("llm_slowdown", ScenarioPlan(steady_s=10, fault=FaultSpec(llm_delay_s=2)))
    assert slow.phases[2].fault.llm_delay_s == 2


def test_spike_steps_to_spike_x() -> None:
    plan = _plan("spike", ScenarioPlan(warmup_s=0, steady_s=10, rate_x=1, spike_x=4))
    assert [p.rate_rps for p in plan.phases] == [25, 100, 25]


def test_an_unknown_name_with_a_plan_is_an_open_model_step() -> None:
    plan = _plan("capacity_step_3", ScenarioPlan(warmup_s=2, steady_s=5, rate_x=3))
    assert plan.scenario == "capacity_step_3" and [p.name for p in plan.phases] == ["warmup", "steady"]
    assert plan.phases[1].rate_rps == 75


def test_an_unknown_name_without_a_plan_lists_the_valid_ones() -> None:
    with pytest.raises(LoadError) as err:
        resolve("nope", None, ScenarioPlan)
    assert all(name in str(err.value) for name in SCENARIOS)


def test_the_checklist_plan_is_used_when_none_is_given() -> None:
    _, _, plan = resolve("soak", None, lambda: ScenarioPlan(steady_s=1234))
    assert plan.steady_s == 1234


@pytest.mark.parametrize("arrival", ["constant", "poisson", "gamma"])
def test_arrivals_keep_each_phase_rate_and_stay_inside_it(arrival: str) -> None:
    plan = _plan("spike", ScenarioPlan(warmup_s=0, steady_s=20, rate_x=1, spike_x=4, arrival=arrival))
    plan.t0, plan.workers = 1000.0, 2
    schedule = list(arrivals(plan, random.Random(7)))
    for spec, start, end in plan.phase_bounds():
        times = [a.t for a in schedule if a.phase.name == spec.name]
        assert all(start <= t < end for t in times)
        expected = spec.rate_rps / plan.workers * spec.duration_s
        slack = 1 if arrival == "constant" else 4 * expected**0.5  # gamma: CV 1 by default
        assert abs(len(times) - expected) <= slack, (spec.name, len(times), expected)
    assert [a.t for a in schedule] == sorted(a.t for a in schedule)


def test_phase_at_walks_the_plan() -> None:
    plan = _plan("target_2x", ScenarioPlan(warmup_s=5, steady_s=10, rate_x=2))
    assert plan.phase_at(0) == (0, None)  # no t0 yet
    plan.t0 = 100.0
    assert plan.phase_at(99)[1] is None
    assert plan.phase_at(104.9)[1].name == "warmup"
    assert plan.phase_at(105)[1].name == "steady"
    assert plan.phase_at(115) == (2, None)


def test_an_early_stop_cuts_the_plan_short() -> None:
    plan = _plan("llm_slowdown", ScenarioPlan(warmup_s=0, steady_s=10, fault_s=10, recovery_s=10))
    plan.t0, plan.stop_at = 100.0, 115.0
    assert [(s.name, a, b) for s, a, b in plan.phase_bounds()] == [("before", 100, 110), ("fault", 110, 115)]
    assert plan.end == 115 and plan.phase_at(114.9)[1].name == "fault" and plan.phase_at(115)[1] is None


def test_the_run_seed_replays_the_arrivals_and_tells_workers_apart() -> None:
    def schedule(seed: int | None, worker: int = 0) -> list[float]:
        plan = _plan("target_2x", ScenarioPlan(warmup_s=0, steady_s=20, rate_x=2, arrival="poisson"))
        plan.t0, plan.seed = 1000.0, seed
        return [a.t for a in arrivals(plan, plan.rng("arrivals", worker), worker)]

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)
    assert schedule(7, worker=0) != schedule(7, worker=1)
    assert schedule(None) != schedule(None)  # no seed: fresh draws each time
