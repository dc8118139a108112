"""Synthetic run folders (timeline + requests.csv) for grading unit tests."""

from __future__ import annotations

import csv
from pathlib import Path

from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline

COLUMNS = ("intended_start", "start", "end", "latency", "latency_uncorrected", "status", "endpoint", "phase",
           "cached", "degraded", "ttft")


def write_run(root: Path, scenario: str, phases: dict[str, list[tuple]]) -> RunFolder:
    """phases: name -> rows of (latency, status, cached, degraded); one request per 10 ms."""
    folder = RunFolder(root).ensure()
    t, timeline_phases, rows = 1_700_000_000.0, [], []
    for name, requests in phases.items():
        start = t
        for latency, status, cached, degraded in requests:
            rows.append((t, t, t + latency, latency, latency, status, "/v1/agent/run", name, cached, degraded,
                         ""))
            t += 0.01
        timeline_phases.append(Phase(name=name, start=start, end=t))
    run = ScenarioRun(name=scenario, status=ScenarioStatus.completed, start=timeline_phases[0].start, end=t,
                      phases=timeline_phases)
    Timeline(run_id="unit", scenarios=[run]).save_file(folder.timeline)
    folder.client_dir(scenario).mkdir(parents=True)
    with folder.request_log(scenario).open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return folder
