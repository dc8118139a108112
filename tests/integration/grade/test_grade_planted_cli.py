"""Outcomes through the real CLI: planted services that shed, answer 400, or answer 200 with a body that
is not JSON, each gated by ``loadgate gate`` end to end (the three side by side: each has its own
service, stack and run folder, and each phase mostly waits); the exit code and the failing item
asserted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from grade_planted import KEYS, REPO, planted_checklist_file, start_planted

from harness import __version__
from harness.checklist import checklist_sha256
from harness.load.recorder import LIVE_FILE
from harness.schemas.run import RunFolder, RunInfo
from harness.schemas.timeline import ScenarioStats
from harness.schemas.verdict import ItemStatus, Outcome, Verdict

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

TARGET_QPS = 20.0  # target_2x drives 40 req/s
PHASES = (2.0, 10.0)  # warm-up, steady: 400 graded requests, 4 of them planted at 1%
SEED = 16


def _live_requests(live: Path) -> int:
    """Requests ended so far, from the master's last complete live sample (0 before the first)."""
    text = live.read_text(encoding="utf-8") if live.exists() else ""
    complete = text[: text.rfind("\n") + 1].splitlines()
    return json.loads(complete[-1])["requests"] if complete else 0


def gate(target_url: str, checklist: Path, reports: Path, run_id: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOADGATE_API_KEY": KEYS[0]}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "gate", "--target-url", target_url,
         "--checklist", str(checklist), "--reports-dir", str(reports), "--run-id", run_id, "--no-progress",
         "--seed", str(SEED)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


# knobs -> the item that must fail, and the one that must not (what the fault is not)
CASES = {
    "shed_a_fifth": (["--shed-every", "5"], "load_2x_target", "error_rate"),
    "bad_request_1pct": (["--bad-request-every", "100"], "error_rate", None),
    "not_json_1pct": (["--garbage-every", "100"], "error_rate", None),
}


Gated = tuple[subprocess.CompletedProcess[str], Path, Path]  # the CLI's result, its checklist, its reports


def _gate_planted(name: str, workdir: Path) -> Gated:
    checklist = planted_checklist_file(workdir / "checklist.yaml", ("load_2x_target", "error_rate"),
                                       target_qps=TARGET_QPS, phases=PHASES)
    proc, port = start_planted(name, CASES[name][0], workdir)
    reports = workdir / "reports"
    try:
        return gate(f"http://127.0.0.1:{port}", checklist, reports, name), checklist, reports
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Gated]:
    """Every case's gate, run side by side."""
    with ThreadPoolExecutor(len(CASES)) as pool:
        runs = {name: pool.submit(_gate_planted, name, tmp_path_factory.mktemp(name)) for name in CASES}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_planted_outcome_is_no_go_through_the_cli(name: str, gated: dict[str, Gated]) -> None:
    _, failing, not_failing = CASES[name]
    done, checklist, reports = gated[name]
    folder = RunFolder(reports / name)
    verdict = Verdict.load_file(folder.verdict)
    items = {i.id: i for i in verdict.items}
    summary = "\n".join(f"{i.id}: {i.status.value} {i.reason}" for i in verdict.items)
    assert done.returncode == 1, f"exit {done.returncode}\n{done.stderr[-2000:]}\n{summary}"
    assert verdict.outcome == Outcome.no_go
    assert items[failing].status == ItemStatus.failed, summary
    if not_failing:
        assert items[not_failing].status != ItemStatus.failed, summary
    info = RunInfo.load_file(folder.run_info)  # provenance: enough to repeat this verdict
    assert (info.seed, info.loadgate_version) == (SEED, __version__)
    assert info.checklist_sha256 == checklist_sha256(checklist) and info.git_commit
    steady = ScenarioStats.load_file(folder.client_stats("target_2x")).phase("steady")
    if name == "shed_a_fifth":
        assert steady.shed and abs(steady.shed / steady.requests - 0.2) < 0.02, steady
        assert items[failing].value is not None and items[failing].value < 0.85
    else:
        assert steady.failures and steady.failures / steady.requests < 0.02, steady
        assert steady.shed == 0


def test_ctrl_c_mid_load_exits_130_and_stops_what_it_started(tmp_path: Path) -> None:
    checklist = planted_checklist_file(tmp_path / "checklist.yaml", ("load_2x_target",),
                                       target_qps=TARGET_QPS, phases=(2.0, 120.0))
    proc, port = start_planted("interrupted", [], tmp_path)
    reports = tmp_path / "reports"
    env = {**os.environ, "LOADGATE_API_KEY": KEYS[0]}
    try:
        gate_proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "gate", "--target-url", f"http://127.0.0.1:{port}",
             "--checklist", str(checklist), "--reports-dir", str(reports), "--run-id", "ctrl-c",
             "--no-progress"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The master's live samples count requests as they end (the request log is merged only after
        # the load): SIGINT once some have, so the load is running.
        live = RunFolder(reports / "ctrl-c").request_log("target_2x").parent / LIVE_FILE
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _live_requests(live) < 20:
            time.sleep(0.5)
        assert _live_requests(live) >= 20, "the load never started"
        gate_proc.send_signal(signal.SIGINT)
        _, err = gate_proc.communicate(timeout=180)  # liveness only: 60 s ran out once at load 6
    finally:
        proc.stop()
    assert gate_proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    left = [p for p in psutil.process_iter(["cmdline"])
            if any(str(reports) in part for part in p.info["cmdline"] or [])]
    assert not left, [p.info["cmdline"] for p in left]
