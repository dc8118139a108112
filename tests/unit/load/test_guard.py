from __future__ import annotations

from harness.load.guard import LoadSettings, hopeless, invalid_reasons, rate_floor, stop_limits
from harness.schemas import Checklist, ChecklistItem, Profile, ScenarioPlan, Threshold
from harness.schemas.timeline import LatencySummary, PhaseStats, ScenarioStats


def _phase(requests: int, late: int = 0, dropped: int = 0, target: float | None = 10.0) -> PhaseStats:
    empty = LatencySummary(count=requests)
    return PhaseStats(
        phase="steady",
        start=0,
        end=100,
        requests=requests,
        failures=0,
        target_rps=target,
        achieved_rps=requests / 100,
        late_starts=late,
        dropped=dropped,
        latency=empty,
        latency_uncorrected=empty,
    )


def test_sustained_generator_cpu_invalidates_a_blip_does_not() -> None:
    settings = LoadSettings(cpu_sustained_s=5)
    stats = ScenarioStats(scenario="s", phases=[_phase(1000)])
    blip = [{"phase": "steady", "cpu_max": 99 if i % 4 == 0 else 50} for i in range(60)]
    assert invalid_reasons(blip, stats, settings, poisson=False) == []
    hot = [{"phase": "steady", "cpu_max": 95} for _ in range(6)]
    assert "CPU above 90% for 6 s" in invalid_reasons(hot, stats, settings, poisson=False)[0]


def test_late_starts_above_the_share_invalidate() -> None:
    settings = LoadSettings()
    ok = ScenarioStats(scenario="s", phases=[_phase(1000, late=40)])
    late = ScenarioStats(scenario="s", phases=[_phase(1000, late=60)])
    assert invalid_reasons([], ok, settings, poisson=False) == []
    assert "6.0% of requests started" in invalid_reasons([], late, settings, poisson=False)[0]


def test_an_unissued_schedule_invalidates_dropped_arrivals_count_as_issued() -> None:
    settings = LoadSettings()
    assert (
        invalid_reasons(
            [], ScenarioStats(scenario="s", phases=[_phase(900, dropped=100)]), settings, poisson=False
        )
        == []
    )
    reasons = invalid_reasons([], ScenarioStats(scenario="s", phases=[_phase(900)]), settings, poisson=False)
    assert "issued 9.0 req/s of the promised 10.0" in reasons[0]


def test_poisson_noise_widens_the_rate_floor() -> None:
    assert rate_floor(10, 100, 0.95, poisson=False) == 9.5
    assert rate_floor(10, 10, 0.95, poisson=True) == 6.0  # 100 expected, less 4 sigma (40)
    # CI's honest 20 s phase that drew 426 of 500 arrivals keeps its promise; 300 would not.
    assert 300 / 20 < rate_floor(25, 20, 0.95, poisson=True) < 426 / 20


def test_stop_limits_take_blockers_on_this_scenario_only() -> None:
    def item(i: str, measure: str, severity: str = "blocker", scenario: str = "target_2x") -> ChecklistItem:
        return ChecklistItem(
            id=i,
            title=i,
            category="performance",
            severity=severity,
            kind="metric",
            scenario=scenario,
            phase="steady",
            measure=measure,
            rationale="r",
            threshold=Threshold(op="<", value=3),
        )

    checklist = Checklist(
        target_qps=1,
        profiles={"quick": Profile(scenarios={"target_2x": ScenarioPlan()})},
        items=[
            item("a", "p99_latency"),
            item("b", "p99_latency", severity="warning"),
            item("c", "memory_trend"),
            item("d", "error_rate", scenario="soak"),
        ],
    )
    assert stop_limits(checklist, "quick", "target_2x") == [("steady", "window_p99", 3.0)]


def test_hopeless_needs_a_full_window_inside_the_phase_and_enough_samples() -> None:
    settings = LoadSettings(stop_window_s=30, stop_factor=3, stop_min_samples=100)
    limits = [("steady", "window_p99", 3.0), ("steady", "window_error_rate", 0.001)]
    bad = {"t": 1050.0, "phase": "steady", "window_n": 500, "window_p99": 10.0, "window_error_rate": 0.0}
    assert "P99 10.00 s" in hopeless(bad, limits, phase_start=1000.0, settings=settings)
    assert hopeless(bad, limits, phase_start=1030.0, settings=settings) is None  # window not yet inside
    assert hopeless({**bad, "window_n": 50}, limits, 1000.0, settings) is None
    assert hopeless({**bad, "window_p99": 8.0}, limits, 1000.0, settings) is None  # bad, not hopeless
    assert hopeless({**bad, "phase": "warmup"}, limits, 1000.0, settings) is None
    errors = {**bad, "window_p99": 1.0, "window_error_rate": 0.7}
    assert "error rate 70.0%" in hopeless(errors, limits, 1000.0, settings)
    assert hopeless(bad, limits, 1000.0, LoadSettings(stop=False)) is None
