"""A scenario the watchdog stops mid-fault records the stop's cause, its phase and the master's own stop
time (where the fault phase ends), and counts the requests the service still held as issued."""

from __future__ import annotations

import json

import pytest

from harness.load import LoadSettings, run_scenario
from harness.schemas import FaultSpec, RunFolder, ScenarioPlan
from harness.schemas.timeline import ScenarioStop, StopCause
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration


def test_a_stop_in_the_fault_is_recorded_with_its_cause_phase_and_held_requests(tmp_path,
                                                                                 fast_target) -> None:
    url = fast_target("--stall-every", "2", "--stall-s", "60")  # every other request is never answered
    plan = ScenarioPlan(warmup_s=0, steady_s=2, rate_x=1, arrival="constant",
                        fault=FaultSpec(llm_delay_s=0.1), fault_s=30, recovery_s=5)
    folder = RunFolder(tmp_path)
    live = folder.client_dir("llm_slowdown") / "live.jsonl"

    def watchdog() -> ScenarioStop | None:
        """Stands in for the stack's watchdog: the target falls silent 2 s into the fault."""
        lines = live.read_text().splitlines() if live.exists() else []
        sample = json.loads(lines[-1]) if lines else {}
        if sample.get("phase") != "fault" or sample["elapsed"] < 4:
            return None
        return ScenarioStop(cause=StopCause.service, reason="target service: no answer", at=sample["t"],
                            since=sample["t"] - 1)

    run = run_scenario("llm_slowdown", checklist=checklist(llm_slowdown=plan), profile="quick",
                       endpoints=endpoints(url), run_folder=folder, abort=watchdog,
                       settings=LoadSettings(drain_s=2))
    assert run.status == "aborted" and run.reason == "stopped: target service: no answer"
    assert run.stop is not None and run.stop.cause == StopCause.service and run.stop.phase == "fault"
    assert [p.name for p in run.phases] == ["before", "fault"]
    assert run.stop.at == pytest.approx(run.phase("fault").end)  # the master's stop ends the phase
    assert run.phase("fault").duration < plan.fault_s  # cut by the stop, not run out (load only delays it)
    assert run.params["in_flight_at_end"] > 0  # the stalled half, still held after the drain
    assert not any("issued" in reason for reason in run.invalid_reasons), run.invalid_reasons
