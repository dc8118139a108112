"""Synthetic run folders (timeline + requests.csv) for grading unit tests."""

from __future__ import annotations

from pathlib import Path

from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow, write_request_log
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline


def write_run(root: Path, scenario: str, phases: dict[str, list[tuple]]) -> RunFolder:
    """phases: name -> rows of (latency, status, cached, degraded); one request per 10 ms, each with the
    outcome its status has when the body is readable."""
    folder = RunFolder(root).ensure()
    t, timeline_phases, rows = 1_700_000_000.0, [], []
    for name, requests in phases.items():
        start = t
        for latency, status, cached, degraded in requests:
            rows.append(RequestRow.measured(intended_start=t, start=t, end=t + latency, status=status,
                                            endpoint="/v1/agent/run", phase=name, cached=cached,
                                            degraded=degraded, outcome=classify(status)))
            t += 0.01
        timeline_phases.append(Phase(name=name, start=start, end=t))
    run = ScenarioRun(name=scenario, status=ScenarioStatus.completed, start=timeline_phases[0].start, end=t,
                      phases=timeline_phases)
    Timeline(run_id="unit", scenarios=[run]).save_file(folder.timeline)
    write_request_log(folder.request_log(scenario), rows)
    return folder
