"""1000 users really concurrent on two cores: FastHttpUser, think time, two worker processes."""

from __future__ import annotations

import pytest

from harness.load import run_scenario
from harness.schemas import RunFolder, ScenarioPlan
from harness.schemas.requests import read_request_log
from harness.schemas.timeline import ScenarioStats
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration


def test_1000_users_run_concurrently(tmp_path, fast_target, monkeypatch) -> None:
    monkeypatch.setenv("LOADGATE_DRAIN_S", "10")
    url = fast_target()
    plan = ScenarioPlan(warmup_s=5, steady_s=8, users=1000, spawn_rate=250, think_time_s=8, stream_share=0.1)
    folder = RunFolder(tmp_path)
    run = run_scenario(
        "concurrency_1000",
        checklist=checklist(concurrency_1000=plan),
        profile="quick",
        endpoints=endpoints(url),
        run_folder=folder,
        workers=2,
    )
    stats = ScenarioStats.load_file(folder.client_stats("concurrency_1000"))
    hold = stats.phase("hold")
    assert [p.name for p in run.phases] == ["ramp", "hold"]
    assert hold.max_users == 1000  # the generator's own count, summed over its workers
    assert hold.requests > 0 and hold.failures == 0
    log = read_request_log(folder.request_log("concurrency_1000"))
    # Many distinct users were served during the hold, not a few fast loops.
    assert log[log.phase == "hold"].shape[0] >= 0.5 * 1000 * hold_share(plan)


def hold_share(plan: ScenarioPlan) -> float:
    """Requests one user sends in the hold: one per think-time cycle."""
    return plan.steady_s / (plan.think_time_s or 1.0)
