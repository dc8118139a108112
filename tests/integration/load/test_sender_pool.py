"""The sender pool through the real runner: every scheduled arrival is either in the request log at its
exact intended start or counted as dropped, and late starts are counted from the log.

A seeded Poisson plan makes the schedule reproducible from the run's own plan.json and t0. One
connection (LoadSettings(connections=1)), at most two requests in flight, and a target that stalls
every 10th request: requests queue behind the stall (late) and arrivals meeting two outstanding are
dropped.
"""

from __future__ import annotations

import json

import pytest

from harness.load import LoadSettings, run_scenario
from harness.load.plan import LoadPlan, arrivals
from harness.schemas import RunFolder, ScenarioPlan
from harness.schemas.requests import read_request_log
from harness.schemas.timeline import ScenarioStats
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration

SCENARIO = "capacity_step_1"
PLAN = ScenarioPlan(warmup_s=1, steady_s=6, rate_x=2.0, arrival="poisson", stream_share=0.2, max_in_flight=2)


def test_every_arrival_is_sent_at_its_intended_start_or_counted_dropped(fast_target, tmp_path) -> None:
    url = fast_target("--stall-every", "10", "--stall-s", "0.4")
    folder = RunFolder(tmp_path / "run")
    run = run_scenario(SCENARIO, checklist=checklist(), profile="quick", endpoints=endpoints(url),
                       run_folder=folder, plan=PLAN, seed=20, settings=LoadSettings(connections=1, drain_s=5))
    assert run.status == "completed", run.reason
    out = folder.client_dir(SCENARIO)
    plan = LoadPlan.model_validate_json((out / "plan.json").read_text())
    plan.t0 = json.loads((out / "generator.json").read_text())["t0"]
    schedule = list(arrivals(plan, plan.rng("arrivals", 0), 0))
    log = read_request_log(folder.request_log(SCENARIO))
    stats = ScenarioStats.load_file(folder.client_stats(SCENARIO))

    # Intended starts are the schedule's own (the log keeps microseconds), each at most once.
    planned = {round(a.t, 6): a.phase.name for a in schedule}
    sent = [round(t, 6) for t in log.intended_start]
    assert len(set(sent)) == len(sent)
    assert all(planned.get(t) == phase for t, phase in zip(sent, log.phase, strict=True))
    # ... and what was not sent was dropped, phase by phase: nothing lost, nothing counted twice.
    for phase in ("warmup", "steady"):
        scheduled = sum(1 for a in schedule if a.phase.name == phase)
        p = stats.phase(phase)
        assert p.requests + p.dropped == scheduled, (phase, p.requests, p.dropped, scheduled)
    assert sum(p.dropped for p in stats.phases) > 0  # the stalls did fill the two slots
    late = int(((log.start - log.intended_start) > plan.late_ms / 1000).sum())
    assert late > 0 and sum(p.late_starts for p in stats.phases) == late
