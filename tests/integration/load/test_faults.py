"""llm_slowdown: the master switches the target's faults at phase edges and records when."""

from __future__ import annotations

import pytest

from harness.load import LoadSettings, run_scenario
from harness.schemas import FaultSpec, RunFolder, ScenarioPlan
from harness.schemas.requests import read_request_log
from harness.schemas.timeline import ScenarioStats
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration


def test_llm_slowdown_phases_and_fault_injection(tmp_path, fast_target) -> None:
    url = fast_target()
    plan = ScenarioPlan(
        warmup_s=0,
        steady_s=3,
        rate_x=1,
        arrival="constant",
        fault=FaultSpec(llm_delay_s=0.3),
        fault_s=4,
        recovery_s=3,
    )
    folder = RunFolder(tmp_path)
    run = run_scenario(
        "llm_slowdown",
        checklist=checklist(llm_slowdown=plan),
        profile="quick",
        endpoints=endpoints(url),
        run_folder=folder,
        settings=LoadSettings(drain_s=3),
    )
    assert [p.name for p in run.phases] == ["before", "fault", "recovery"]
    assert run.phase("fault").params["fault"]["llm_delay_s"] == 0.3
    events = run.params["fault_events"]
    assert [e["fault"] is not None for e in events] == [True, False]  # PUT, then DELETE
    assert all(e["result"] == "200" for e in events)
    fault, recovery = run.phase("fault"), run.phase("recovery")
    # Set inside the fault phase and cleared inside recovery (the conductor acts on the edge; how
    # soon after it depends on how busy the machine is, so only the phase is asserted).
    assert fault.start - 0.1 <= events[0]["at"] < fault.end
    assert recovery.start - 0.1 <= events[1]["at"] < recovery.end
    stats = ScenarioStats.load_file(folder.client_stats("llm_slowdown"))
    assert stats.phase("before").degraded == 0
    assert stats.phase("fault").degraded > 0.5 * stats.phase("fault").requests
    # The 0.3 s delay shows in the fault phase's median, and in every answer the fault reached (the
    # target says so: degraded): lower bounds, which load (it only adds time) cannot break.
    assert stats.phase("fault").latency.p50 > 0.3, stats.phase("fault").latency
    log = read_request_log(folder.request_log("llm_slowdown"))
    delayed = log[log.degraded]
    assert len(delayed) >= stats.phase("fault").degraded and (delayed.latency > 0.3).all(), delayed.latency
