"""The watchdog through the real CLI: the spawned target killed in the middle of target_2x is NO-GO
naming the crash (seen within seconds, the remaining scenario skipped, exit code and log tail in the
report); Prometheus killed mid-run is INVALID naming it.

Short test profile (phases of seconds) on the bundled service with its simulated LLM backend. The three
gates run side by side (10 req/s each, simulated backend: light), each in its own stack.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from short_gate import ROOT, short_checklist

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas import IncidentKind, Outcome, RunFolder, ScenarioStatus, Timeline, Verdict
from harness.schemas.timeline import Incident, ScenarioRun
from harness.stack.http import answers
from harness.stack.watchdog import DETECT_WITHIN_S, REFUSED_AFTER_S

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ITEMS = ("load_2x_target", "error_rate", "p99_latency", "concurrency_1000", "health_check")
STEADY_S = 60  # short_checklist's default; each test kills 10 s into it, so a finished phase means no abort


def _seen_within_the_budget(incident: Incident, killed_at: float) -> None:
    """Detection bounded by the run's own timestamps, not the test's clock against a busy machine: what
    broke, broke after the watchdog's last good poll (``ok_at``), and that poll and the detection lie
    within the watchdog's promise (DETECT_WITHIN_S, 15 s)."""
    assert incident.ok_at is not None, incident
    assert incident.ok_at <= incident.detected_at <= incident.ok_at + DETECT_WITHIN_S, incident
    assert incident.detected_at >= killed_at, incident


def _stopped_early(run: ScenarioRun, incident: Incident) -> None:
    """The scenario ended because of the incident: after it was seen, long before its steady phase would
    have ended by itself (the kill came 10 s into a STEADY_S phase)."""
    assert run.status == ScenarioStatus.aborted, run
    assert run.end is not None and incident.detected_at <= run.end < run.phase("steady").start + STEADY_S, run


def _stack_child(gate: psutil.Process, needle: str, timeout_s: float = 300) -> psutil.Process:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in gate.children(recursive=True):
            try:
                if any(needle in part for part in child.cmdline()):
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.5)
    raise AssertionError(f"no '{needle}' process under the gate after {timeout_s} s")


def _wait_steady(folder: RunFolder, timeout_s: float = 400) -> float:
    """Wall-clock start of target_2x's steady phase, once it is 10 s old (the middle of the scenario)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if folder.timeline.exists():
            try:
                run = Timeline.load_file(folder.timeline).scenario("target_2x")
                steady = run.phase("steady").start
            except KeyError:  # target_2x or its steady phase not written yet
                steady = None
            if steady and time.time() > steady + 10:
                return steady
        time.sleep(0.5)
    raise AssertionError("target_2x never reached its steady phase")


def command_lines(root: psutil.Process) -> list[str]:
    """What `ps` shows of every process under ``root``."""
    lines = []
    for proc in root.children(recursive=True):
        try:
            lines.append(" ".join(proc.cmdline()))
        except psutil.NoSuchProcess:
            continue
    return lines


def _gate_and_kill(tmp_path: Path, needle: str) -> tuple[int, RunFolder, float, str, list[str]]:
    """Start a gate, SIGKILL the stack process whose command line holds ``needle`` mid-steady."""
    folder = RunFolder(tmp_path / "reports" / "wd")
    gate = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "gate", "--checklist", str(short_checklist(tmp_path, ITEMS)),
         "--backend", "simulated", "--reports-dir", str(folder.root.parent), "--run-id", "wd",
         "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        victim = _stack_child(psutil.Process(gate.pid), needle)
        _wait_steady(folder)
        argv = command_lines(psutil.Process(gate.pid))
        killed_at = time.time()
        os.kill(victim.pid, signal.SIGKILL)
        out, _ = gate.communicate(timeout=400)
    finally:
        if gate.poll() is None:
            gate.kill()
    return gate.returncode, folder, killed_at, out, argv


def _silence_a_user_target(tmp_path: Path) -> tuple[int, RunFolder, float, str]:
    """A gate on a target the user runs (a planted one), SIGKILLed mid-steady: it stops answering."""
    port = free_port()
    target = ManagedProcess("planted", [sys.executable, "-m", "tests.planted", "--port", str(port),
                                        "--no-rate-limit"], log_path=tmp_path / "planted.log", cwd=ROOT,
                            env={"PLANTED_API_KEYS": "wd-key"}).start()
    folder = RunFolder(tmp_path / "reports" / "wd")
    try:
        target.wait_ready(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 30)
        gate = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "gate", "--target-url", f"http://127.0.0.1:{port}",
             "--checklist", str(short_checklist(tmp_path, ITEMS)), "--reports-dir", str(folder.root.parent),
             "--run-id", "wd", "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env={**os.environ, "LOADGATE_API_KEY": "wd-key"})
        try:
            _wait_steady(folder)
            silent_from = time.time()
            os.kill(target.pid, signal.SIGKILL)
            out, _ = gate.communicate(timeout=400)
        finally:
            if gate.poll() is None:
                gate.kill()
    finally:
        target.stop()
    return gate.returncode, folder, silent_from, out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future]:
    """The three gates, side by side; each test takes its own one's result (or its exception)."""
    plans: dict[str, Callable[[Path], tuple]] = {
        "target": lambda tmp: _gate_and_kill(tmp, "target_service"),
        "prometheus": lambda tmp: _gate_and_kill(tmp, "--storage.tsdb.path"),
        "user": _silence_a_user_target,
    }
    with ThreadPoolExecutor(len(plans)) as pool:
        futures = {name: pool.submit(plan, tmp_path_factory.mktemp(name)) for name, plan in plans.items()}
    return futures  # the pool's exit waited for all three


def test_target_killed_mid_target_2x_is_no_go_naming_the_crash(runs: dict[str, Future]) -> None:
    code, folder, killed_at, out, argv = runs["target"].result()
    # The keys and the admin token loadgate generated for the service are on no command line.
    assert any("locust" in line for line in argv) and any("target_service" in line for line in argv)
    assert not [line for line in argv if re.search(r"lg-(admin-)?[0-9a-f]{16}", line)]
    verdict = Verdict.load_file(folder.verdict)
    assert code == 1 and verdict.outcome == Outcome.no_go, out[-3000:]
    assert verdict.reason.startswith("target service died at"), verdict.reason
    assert "during target_2x" in verdict.reason and "exit code -9" in verdict.reason

    # Its window's series stopped with the target: the failed scrapes are named, not "no series".
    two_x_item = next(i for i in verdict.items if i.id == "load_2x_target")
    assert two_x_item.reason.startswith("target scrapes failed for "), two_x_item.reason
    assert "(up == 0)" in two_x_item.reason

    timeline = Timeline.load_file(folder.timeline)
    (incident,) = timeline.incidents
    assert incident.kind == IncidentKind.died and incident.exit_code == -9
    _seen_within_the_budget(incident, killed_at)
    two_x = timeline.scenario("target_2x")
    _stopped_early(two_x, incident)
    assert "target service died" in two_x.reason
    skipped = timeline.scenario("concurrency_1000")
    assert skipped.status == ScenarioStatus.failed
    assert skipped.reason.startswith("skipped: target service died")
    assert not folder.client_dir("concurrency_1000").exists(), "no load after the crash"

    html = folder.report_html.read_text()
    assert 'class="exit-code">-9<' in html and 'class="log-tail"' in html
    assert incident.log_tail and incident.log_tail.splitlines()[-1] in html


def test_prometheus_killed_mid_run_is_invalid_naming_it(runs: dict[str, Future]) -> None:
    code, folder, killed_at, out, _ = runs["prometheus"].result()
    verdict = Verdict.load_file(folder.verdict)
    assert code == 2 and verdict.outcome == Outcome.invalid, out[-3000:]
    assert any(r.startswith("prometheus died at") for r in verdict.invalid_reasons), verdict.invalid_reasons
    timeline = Timeline.load_file(folder.timeline)
    (incident,) = timeline.incidents
    assert incident.component == "prometheus"
    _seen_within_the_budget(incident, killed_at)
    _stopped_early(timeline.scenario("target_2x"), incident)
    assert "prometheus died" in folder.report_html.read_text()


def test_a_target_you_run_that_stops_answering_is_named_once_and_ends_it(runs: dict[str, Future]) -> None:
    returncode, folder, silent_from, out = runs["user"].result()
    verdict = Verdict.load_file(folder.verdict)
    assert returncode == 1 and verdict.outcome == Outcome.no_go, out[-3000:]
    assert verdict.reason.startswith("target service: no answer from "), verdict.reason
    assert verdict.reason.count("no answer from") == 1 and "during target_2x" in verdict.reason
    timeline = Timeline.load_file(folder.timeline)
    (incident,) = timeline.incidents
    assert incident.kind == IncidentKind.no_answer and incident.exit_code is None
    _seen_within_the_budget(incident, silent_from)
    assert silent_from <= incident.at and incident.detected_at - incident.at >= REFUSED_AFTER_S
    _stopped_early(timeline.scenario("target_2x"), incident)
    skipped = timeline.scenario("concurrency_1000")
    assert skipped.status == ScenarioStatus.failed and "no answer from" in skipped.reason
