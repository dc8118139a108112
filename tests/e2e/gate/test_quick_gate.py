"""The main job, as a user runs it: `loadgate gate --profile quick` on the bundled service.

Real redis-server, prometheus, alertmanager, the service with its transformers model, Locust. The
gate must end GO with every item measured, and leave nothing running.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

from harness.schemas import ItemStatus, Outcome, RunFolder, ScenarioStats, Timeline, Verdict
from harness.schemas.diagnostics import DiagnosticsOverhead

# alone: it must hold 2x the target rate on the real model, so no other test runs beside it.
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow, pytest.mark.alone]

ROOT = Path(__file__).resolve().parents[3]


def _stack_processes(run_dir: Path) -> list[psutil.Process]:
    """Processes whose command line names this run's folder (redis, prometheus, ...)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(run_dir) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], RunFolder]:
    reports = tmp_path_factory.mktemp("reports")
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "gate", "--profile", "quick", "--reports-dir", str(reports),
         "--run-id", "e2e", "--no-progress", "--attest", "oncall_notified=ci-bot"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    return done, RunFolder(reports / "e2e")


def test_quick_gate_is_go_with_every_item_measured(gate_run) -> None:
    done, folder = gate_run
    verdict = Verdict.load_file(folder.verdict)
    summary = "\n".join(f"{i.id}: {i.status} {i.reason}" for i in verdict.items)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}\n{summary}"
    assert verdict.outcome == Outcome.go
    assert verdict.invalid_reasons == []
    # Every item passed, but the GPU one, which cannot apply where NVML finds no GPU (CI's machine).
    gpu = [i for i in verdict.items if i.id == "gpu_memory_headroom"]
    assert [i.status for i in gpu] == [ItemStatus.not_applicable], summary
    assert {i.status for i in verdict.items if i not in gpu} == {ItemStatus.passed}, summary
    measured = [i for i in verdict.items if i.kind != "manual" and i not in gpu]
    assert all(i.value is not None for i in measured), summary
    assert done.stdout.startswith("GO")


def test_the_promised_load_really_ran(gate_run) -> None:
    _, folder = gate_run
    timeline = Timeline.load_file(folder.timeline)
    assert [s.name for s in timeline.scenarios] == ["target_2x", "concurrency_1000", "llm_slowdown",
                                                    "agent_sessions"]
    steady = ScenarioStats.load_file(folder.client_stats("target_2x")).phase("steady")
    assert steady.target_rps >= 50  # 2x the default target_qps of 25, open model
    assert steady.achieved_rps >= 0.95 * steady.target_rps
    hold = ScenarioStats.load_file(folder.client_stats("concurrency_1000")).phase("hold")
    assert hold.max_users == 1000


def test_outputs_are_written_for_people_and_ci(gate_run) -> None:
    _, folder = gate_run
    verdict = Verdict.load_file(folder.verdict)
    html = folder.report_html.read_text()
    assert "GO" in html and all(item.id in html for item in verdict.items)
    cases = ET.parse(folder.junit).getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(i.id for i in verdict.items)
    assert folder.diagnosis.exists()
    assert (folder.root.parent / "index.html").exists()


def test_diagnostics_overhead_is_measured_both_ways(gate_run) -> None:
    _, folder = gate_run
    overhead = DiagnosticsOverhead.load_file(folder.overhead)
    by_scenario = {o.scenario: o for o in overhead.scenarios}
    assert set(by_scenario) == {"target_2x", "concurrency_1000"}  # the heavy scenarios
    two_x = by_scenario["target_2x"]
    # 110 s of steady load in 5 s blocks: several blocks with and without the probes.
    assert two_x.blocks_on >= 3 and two_x.blocks_off >= 3 and two_x.requests_on > 500
    assert two_x.added is not None and two_x.added_ci is not None
    assert two_x.added_ci[0] <= two_x.added <= two_x.added_ci[1]
    assert "Diagnostics overhead" in folder.report_html.read_text()


def test_nothing_outlives_the_gate(gate_run) -> None:
    _, folder = gate_run
    assert _stack_processes(folder.root) == []
