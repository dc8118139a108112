"""A blocker hopelessly broken over a sliding window stops the scenario early, and says why."""

from __future__ import annotations

import pytest

from harness.load import run_scenario
from harness.schemas import Checklist, ChecklistItem, Profile, RunFolder, ScenarioPlan, Threshold, Timeline
from tests.integration.load.conftest import endpoints

pytestmark = pytest.mark.integration


def test_hopeless_p99_aborts_the_scenario(tmp_path, fast_target, monkeypatch) -> None:
    for key, value in {"STOP_WINDOW_S": "2", "STOP_MIN_SAMPLES": "10", "DRAIN_S": "2"}.items():
        monkeypatch.setenv(f"LOADGATE_{key}", value)
    url = fast_target("--stall-every", "1", "--stall-s", "0.5")
    plan = ScenarioPlan(warmup_s=0, steady_s=60, rate_x=2, arrival="constant")
    item = ChecklistItem(
        id="p99",
        title="P99",
        category="performance",
        severity="blocker",
        kind="metric",
        scenario="target_2x",
        phase="steady",
        measure="p99_latency",
        rationale="r",
        threshold=Threshold(op="<", value=0.1, unit="s"),
    )
    checklist = Checklist(
        target_qps=10, profiles={"quick": Profile(scenarios={"target_2x": plan})}, items=[item]
    )
    folder = RunFolder(tmp_path)
    run = run_scenario(
        "target_2x", checklist=checklist, profile="quick", endpoints=endpoints(url), run_folder=folder
    )
    assert run.status == "aborted"
    assert "P99" in run.reason and "0.1 s limit" in run.reason
    # Ended (drain included) before the steady phase's plan would have: load delays a stop, never fakes one.
    assert run.end < run.phase("steady").start + plan.steady_s, (run.end - run.phase("steady").start)
    assert Timeline.load_file(folder.timeline).scenario("target_2x").status == "aborted"
