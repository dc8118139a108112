"""The probes and the fault items against the bundled service (simulated LLM): an LLM slowdown with
recovery, then every probe. The bundled service is built to pass them all."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from grade_driver import Target, drive, write_request_log

from harness.checklist import load_checklist
from harness.grade import grade_run
from harness.schemas.checklist import FaultSpec, ItemKind, Profile, ScenarioPlan
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus, Outcome
from harness.stack import Stack

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
RATE = 25.0
PHASES = (("before", 5.0), ("fault", 14.0), ("recovery", 15.0))  # 350 requests in the fault phase
FAULT = FaultSpec(llm_delay_s=5)


def test_slowdown_and_probes_pass_on_the_bundled_service(make_stack: Callable[..., Stack],
                                                         tmp_path: Path) -> None:
    ep = make_stack(run_dir=tmp_path / "run", backend="simulated").endpoints
    target = Target(ep.target_url, ep.api_key, unique=True)
    admin = {"Authorization": f"Bearer {ep.admin_token}"}
    faults = f"{ep.target_url}/admin/faults"
    windows = []
    for phase, seconds in PHASES:
        if phase == "fault":
            httpx.put(faults, json=FAULT.model_dump(exclude_defaults=True), headers=admin).raise_for_status()
        windows += drive([target], RATE, [(phase, seconds)])
        if phase == "fault":
            httpx.delete(faults, headers=admin).raise_for_status()
    time.sleep(2.5)  # the scrape after the last window

    folder = RunFolder(tmp_path / "run").ensure()
    phases = [Phase(name=name, start=start, end=end) for name, start, end in windows]
    run = ScenarioRun(name="llm_slowdown", status=ScenarioStatus.completed, start=phases[0].start,
                      end=phases[-1].end, phases=phases)
    Timeline(run_id="probes", scenarios=[run]).save_file(folder.timeline)
    write_request_log(folder.request_log("llm_slowdown"), target.rows)

    shipped = load_checklist(REPO / "checklist.yaml")
    plan = ScenarioPlan(warmup_s=0, steady_s=PHASES[0][1], rate_x=1, fault=FAULT, fault_s=PHASES[1][1],
                        recovery_s=PHASES[2][1])
    # memory_per_request needs >= 1000 requests in a scenario after its warm-up: a gate's, not these ~700.
    items = [i for i in shipped.items if i.scenario in (None, "llm_slowdown") and i.kind != ItemKind.manual
             and i.id != "memory_per_request"]
    checklist = shipped.model_copy(update={"target_qps": RATE, "items": items,
                                           "profiles": {"quick": Profile(scenarios={"llm_slowdown": plan})}})
    verdict = grade_run(folder.root, checklist, endpoints=ep)

    by_id = {i.id: i for i in verdict.items}
    assert {"circuit_breaker", "timeouts_set", "degradation_ready", "api_auth", "pii_masked", "access_logs",
            "logs_collected", "rate_limiting", "alert_rules", "key_metrics", "health_check"} <= set(by_id)
    not_passed = {i.id: i.reason for i in verdict.items if i.status != ItemStatus.passed}
    assert not not_passed
    assert verdict.outcome == Outcome.go, verdict.reason
    breaker = by_id["circuit_breaker"]
    assert breaker.value is not None and 0 <= breaker.value <= 25 and breaker.evidence["max_state"] == 2
    assert by_id["degradation_ready"].samples and by_id["degradation_ready"].samples > 300
    assert by_id["rate_limiting"].evidence["key"] == "api_key_2"
