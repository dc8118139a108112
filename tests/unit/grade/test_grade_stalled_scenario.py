"""A scenario stopped in the middle of its LLM fault: whose failure stopped it decides what its
resilience items say. A service that stalled under the fault has shown that nothing protected it (the
breaker and the timeout items fail, with what was seen before the stop); a run cut short by its own
parts (Prometheus went silent) has shown nothing about the service (no-data, INVALID)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checklist import load_checklist
from harness.grade import grade_run
from harness.schemas.checklist import Checklist
from harness.schemas.faults import UpstreamCalls
from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow, write_request_log
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import (
    TARGET_COMPONENT,
    Incident,
    IncidentKind,
    Phase,
    ScenarioRun,
    ScenarioStatus,
    ScenarioStop,
    StopCause,
    Timeline,
)
from harness.schemas.verdict import ItemStatus, Outcome, Verdict

CHECKLIST = Path(__file__).resolve().parents[2] / "e2e" / "proxy" / "resilience_checklist.yaml"
T0 = 1_700_000_000.0
RATE = 20  # requests a second, every one a cache miss
BEFORE_S, ANSWERED_S, STOPPED_S = 10, 8, 20  # the agent answers the first 8 s of the fault, then stalls
HELD = 240  # requests in flight when the generator gave up
DRAIN_S = 16
DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture
def checklist() -> Checklist:
    return load_checklist(CHECKLIST)


def _stalled_run(root: Path, cause: StopCause) -> RunFolder:
    """llm_slowdown stopped 20 s into its fault; the agent kept calling its LLM for every miss and
    answered degraded within 3.5 s (under the 4 s bound) until it stalled."""
    folder = RunFolder(root).ensure()
    fault_start, stop_at = T0 + BEFORE_S, T0 + BEFORE_S + STOPPED_S
    rows, calls = [], []
    for i in range(BEFORE_S * RATE + ANSWERED_S * RATE):
        t = T0 + i / RATE
        in_fault = t >= fault_start
        latency = 3.5 if in_fault else 0.2
        rows.append(RequestRow.measured(intended_start=t, start=t, end=t + latency, status=200,
                                        endpoint="/v1/agent/run", phase="fault" if in_fault else "before",
                                        cached=False, degraded=in_fault, outcome=classify(200)))
        calls.append(t + 0.01)
    write_request_log(folder.request_log("llm_slowdown"), rows)
    UpstreamCalls(proxy_url=DEAD, llm_calls=calls).save_file(
        folder.client_dir("llm_slowdown") / UpstreamCalls.FILE_NAME)
    silent_from = fault_start + ANSWERED_S + 2
    component = TARGET_COMPONENT if cause == StopCause.service else "prometheus"
    incident = Incident(component=component, kind=IncidentKind.no_answer, at=silent_from,
                        detected_at=silent_from + 15, scenario="llm_slowdown",
                        detail=f"{DEAD}/healthz ReadTimeout for 15 s")
    stop = ScenarioStop(cause=cause, reason=incident.summary, at=stop_at, phase="fault",
                        since=silent_from)
    run = ScenarioRun(name="llm_slowdown", status=ScenarioStatus.aborted, reason=f"stopped: {stop.reason}",
                      stop=stop, start=T0, end=stop_at + DRAIN_S,
                      phases=[Phase(name="before", start=T0, end=fault_start),
                              Phase(name="fault", start=fault_start, end=stop_at)],
                      params={"in_flight_at_end": HELD})
    Timeline(run_id="unit", scenarios=[run], incidents=[incident]).save_file(folder.timeline)
    return folder


def _grade(folder: RunFolder, checklist: Checklist) -> tuple[Verdict, dict]:
    verdict = grade_run(folder.root, checklist, profile="test",
                        endpoints=Endpoints(target_url=DEAD, prometheus_url=DEAD, api_key="k"))
    return verdict, {i.id: i for i in verdict.items}


def test_a_service_that_stalls_in_the_fault_fails_breaker_and_timeouts_with_what_was_seen(
        tmp_path: Path, checklist: Checklist) -> None:
    verdict, items = _grade(_stalled_run(tmp_path, StopCause.service), checklist)
    breaker = items["circuit_breaker"]
    assert breaker.status == ItemStatus.failed
    assert "failed 10 s into the LLM fault" in breaker.reason
    assert "no breaker kept it answering" in breaker.reason
    assert "never fell to the probes of an open breaker" in breaker.reason
    assert breaker.evidence["stop"]["cause"] == "service"
    assert sum(breaker.evidence["upstream_calls_per_s"]) == ANSWERED_S * RATE  # what the wire saw before
    assert breaker.window is not None and breaker.window.phase == "fault"

    # Every answered request came within 3.5 s; the 240 the agent still held had waited >= 15 s.
    timeouts = items["timeouts_set"]
    assert timeouts.status == ItemStatus.failed
    assert timeouts.value == pytest.approx(DRAIN_S - 1)
    assert timeouts.evidence["unanswered"]["requests"] == HELD and f"{HELD} requests" in timeouts.reason
    errors = items["fault_error_rate"]
    assert errors.status == ItemStatus.failed and errors.evidence["errors"] == HELD

    assert verdict.outcome == Outcome.no_go
    assert "timeouts_set" in verdict.reason and "circuit_breaker" in verdict.reason
    assert not any("aborted" in r for r in verdict.invalid_reasons)  # the service's failure, not the run's


def test_a_run_stopped_by_its_own_parts_in_the_fault_stays_no_data_and_invalid(
        tmp_path: Path, checklist: Checklist) -> None:
    verdict, items = _grade(_stalled_run(tmp_path, StopCause.harness), checklist)
    breaker = items["circuit_breaker"]
    assert breaker.status == ItemStatus.no_data
    assert "did not finish its fault and recovery phases" in breaker.reason and "prometheus" in breaker.reason
    assert items["timeouts_set"].status == ItemStatus.passed  # graded from what was answered, as before
    assert "unanswered" not in items["timeouts_set"].evidence
    assert items["fault_error_rate"].evidence["errors"] == 0
    assert verdict.outcome == Outcome.invalid
    assert any("aborted" in r for r in verdict.invalid_reasons)


def test_a_service_that_fails_before_the_fault_leaves_the_breaker_unjudged(
        tmp_path: Path, checklist: Checklist) -> None:
    folder = _stalled_run(tmp_path, StopCause.service)
    timeline = Timeline.load_file(folder.timeline)
    run = timeline.scenario("llm_slowdown")
    assert run.stop is not None
    run.stop.phase = "before"
    timeline.save_file(folder.timeline)
    verdict, items = _grade(folder, checklist)
    assert items["circuit_breaker"].status == ItemStatus.no_data
    assert verdict.outcome == Outcome.no_go  # the target's incident decides it
