"""agent_sessions through `loadgate gate` on the bundled service (simulated LLM, short plan): the
external API tool slowed by 5 s is contained by its 0.5 s timeout (GO, degraded answers counted),
and the same slowdown on a service without a tool timeout (AGENT_TOOL_TIMEOUT_S=0) is NO-GO naming
the tool item. The two gates run side by side (simulated LLM, 6 turns/s each: light)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.schemas import ItemStatus, Outcome, RunFolder, ScenarioStats, Verdict
from harness.schemas.requests import read_request_log

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
PLAN = {"steady_s": 8, "turn_rate_rps": 6, "turns_mean": 3, "think_time_s": 0.3,
        "fault": {"tool_delay_s": 5}, "fault_s": 12}


def _checklist(tmp: Path) -> Path:
    full = yaml.safe_load((ROOT / "checklist.yaml").read_text())
    items = [i for i in full["items"] if i["id"] == "tool_timeout_contained"]
    short = {**{k: v for k, v in full.items() if k not in ("profiles", "items", "attestations")},
             "profiles": {"quick": {"scenarios": {"agent_sessions": PLAN}}}, "items": items}
    path = tmp / "sessions.yaml"
    path.write_text(yaml.safe_dump(short))
    return path


@pytest.fixture(scope="module")
def gates(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, RunFolder]]:
    """run id -> (the finished gate, its run folder), for a 0.5 s tool timeout and for none."""
    started = {}
    for run_id, tool_timeout_s in (("contained", "0.5"), ("uncontained", "0")):
        tmp = tmp_path_factory.mktemp(run_id)
        argv = [sys.executable, "-m", "harness.cli", "gate", "--checklist", str(_checklist(tmp)),
                "--backend", "simulated", "--reports-dir", str(tmp / "reports"), "--run-id", run_id,
                "--no-progress"]
        out, err = (tmp / "stdout.txt").open("w+"), (tmp / "stderr.txt").open("w+")  # files: no pipe fills
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, text=True,
                                env={**os.environ, "AGENT_TOOL_TIMEOUT_S": tool_timeout_s})
        started[run_id] = proc, tmp, out, err
    done = {}
    for run_id, (proc, tmp, out, err) in started.items():
        try:
            code = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
        with out, err:
            out.seek(0), err.seek(0)
            done[run_id] = (subprocess.CompletedProcess(proc.args, code, out.read(), err.read()),
                            RunFolder(tmp / "reports" / run_id))
    return done


def _item(folder: RunFolder):
    return next(i for i in Verdict.load_file(folder.verdict).items if i.id == "tool_timeout_contained")


def test_the_tools_timeout_contains_a_slow_external_api(gates) -> None:
    done, folder = gates["contained"]
    item = _item(folder)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}\n{item.reason}"
    assert Verdict.load_file(folder.verdict).outcome == Outcome.go
    assert item.status == ItemStatus.passed and item.value < 3
    assert item.evidence["degraded"] > 0 and item.evidence["tool_statuses"].get("timeout", 0) > 0
    sessions = ScenarioStats.load_file(folder.client_stats("agent_sessions")).sessions
    log = read_request_log(folder.request_log("agent_sessions"))
    timeouts = int(log.tools.fillna("").str.count("external_api:timeout").sum())
    # stats.json counts the run, as its request log does; the item grades the fault phase only (a turn
    # sent just after the phase, before the conductor cleared the fault, times out outside it).
    assert sessions.tool_outcomes["external_api"]["timeout"] == timeouts
    assert 0 < item.evidence["tool_statuses"]["timeout"] <= timeouts


def test_without_a_tool_timeout_the_gate_is_no_go_naming_the_tool_item(gates) -> None:
    done, folder = gates["uncontained"]
    item = _item(folder)
    assert done.returncode == 1, f"{done.stdout}\n{done.stderr[-3000:]}"
    assert item.status == ItemStatus.failed and item.value >= 5
    assert "tool_timeout_contained" in done.stdout
