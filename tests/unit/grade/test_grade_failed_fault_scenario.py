"""A fault scenario that could not start (its fault had nowhere to go: a service with no fault API)
leaves its planned phases in the timeline; every item of it, the breaker cycle included, is no-data
naming that failure, not a confusing reason about gauges or scrapes. Seen by hand on the planted
seed-article service's quick gate, where circuit_breaker said "no breaker gauge ..." instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.schemas.checklist import Checklist
from harness.schemas.run import RunFolder
from harness.schemas.service import preset_profile
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus

REPO = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000.0
WHY = ("scenario llm_slowdown: this scenario injects a fault (llm_delay_s=5.0) that only a fault API or "
       "proxy can apply")


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    return load_checklist(REPO / "checklist.yaml")


@pytest.mark.parametrize("preset", ["seed-article", "bundled"])
def test_every_item_of_a_fault_scenario_that_never_started_says_it_failed(
        tmp_path: Path, checklist: Checklist, preset: str) -> None:
    folder = RunFolder(tmp_path).ensure()
    planned = [Phase(name=n, start=T0 + a, end=T0 + b)
               for n, a, b in (("steady", 0, 20), ("fault", 20, 50), ("recovery", 50, 80))]
    run = ScenarioRun(name="llm_slowdown", status=ScenarioStatus.failed, reason=WHY, start=T0, end=T0,
                      phases=planned)
    Timeline(run_id="unit", scenarios=[run]).save_file(folder.timeline)
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, prom_error="none",
                       folder=folder, timeline=Timeline.load_file(folder.timeline),
                       metrics=preset_profile(preset).metrics)
    items = [i for i in checklist.items if i.scenario == "llm_slowdown"]
    assert {i.id for i in items} >= {"timeouts_set", "degradation_ready", "fault_error_rate",
                                     "circuit_breaker"}
    for item in items:
        result = grade_item(ctx, item, {})
        assert result.status == ItemStatus.no_data, item.id
        assert result.reason.startswith(f"scenario llm_slowdown failed: {WHY}"), (item.id, result.reason)
