"""A gate whose load comes from workers started as separate processes, all on loopback, through the
real CLI: ``loadgate gate --expect-workers 2 --master-bind 127.0.0.1:PORT`` beside two
``loadgate worker --master 127.0.0.1:PORT``. One verdict from every worker's merged histograms; a
worker killed mid-run makes the run INVALID naming it; a worker running other code (a copy of the
tree with one source byte changed, run from that copy) is refused before any load (exit 3).

The target is the cheap planted one (tests/integration/load/fast_target.py); the checklist has one
client item (P99 from the merged histograms), phases of seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.ports import free_port
from harness.schemas import Outcome, RunFolder, ScenarioStats, Verdict
from harness.schemas.requests import read_request_log
from harness.schemas.timeline import Timeline
from tests.integration.load.conftest import KEY, start_target

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "LOADGATE_API_KEY": KEY}


def _checklist(tmp_path: Path, steady_s: float) -> Path:
    checklist = {
        "version": 1, "service": "fast target", "target_qps": 40, "slo_p99_s": 3, "slo_error_rate": 0.01,
        "default_profile": "short",
        "profiles": {"short": {"description": "seconds", "scenarios": {"target_2x": {
            "warmup_s": 3, "steady_s": steady_s, "rate_x": 1, "arrival": "poisson", "stream_share": 0}}}},
        "items": [{"id": "client_p99", "title": "client P99 < 3 s", "category": "performance",
                   "severity": "blocker", "kind": "client", "scenario": "target_2x", "phase": "steady",
                   "measure": "client_p99", "threshold": {"op": "<", "value": 3, "unit": "s"},
                   "min_samples": 100, "rationale": "the generator's own view, merged over its workers"}],
    }
    path = tmp_path / "distributed.yaml"
    path.write_text(yaml.safe_dump(checklist, sort_keys=False))
    return path


@pytest.fixture
def target() -> Iterator[str]:
    proc, url = start_target()
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)


def _worker(workers: list, port: int, name: str, log: Path, tree: Path = ROOT) -> subprocess.Popen[str]:
    """``loadgate worker`` run from ``tree`` (its ``harness`` first on the path), in its own group."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "worker", "--master", f"127.0.0.1:{port}",
                             "--name", name, "--idle-exit", "60"], cwd=tree, env=ENV, text=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    workers.append(proc)
    return proc


def _gate(tmp_path: Path, target: str, port: int, run_id: str, steady_s: float) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "harness.cli", "gate", "--checklist", str(_checklist(tmp_path, steady_s)),
            "--target-url", target, "--expect-workers", "2", "--master-bind", f"127.0.0.1:{port}",
            "--reports-dir", str(tmp_path / "reports"), "--run-id", run_id, "--no-progress"]
    return subprocess.Popen(argv, cwd=ROOT, env=ENV, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def test_a_gate_with_two_remote_workers_gives_one_verdict(tmp_path, target, workers) -> None:
    port = free_port()
    for name in ("wa", "wb"):
        _worker(workers, port, name, tmp_path / f"{name}.log")
    out, _ = _gate(tmp_path, target, port, "spread", steady_s=10).communicate(timeout=300)
    folder = RunFolder(tmp_path / "reports" / "spread")
    verdict = Verdict.load_file(folder.verdict)
    assert verdict.outcome == Outcome.go, out[-3000:]
    run = Timeline.load_file(folder.timeline).scenario("target_2x")
    assert sorted(run.params["generator_workers"]) == ["local0", "wa", "wb"]
    log = read_request_log(folder.request_log("target_2x"))
    steady = ScenarioStats.load_file(folder.client_stats("target_2x")).phase("steady")
    assert steady.requests == int((log.phase == "steady").sum()) > 100  # every worker's rows, once


def test_a_worker_killed_mid_run_makes_the_run_invalid_naming_it(tmp_path, target, workers) -> None:
    port = free_port()
    _worker(workers, port, "steady-one", tmp_path / "steady-one.log")
    doomed = _worker(workers, port, "doomed", tmp_path / "doomed.log")
    gate = _gate(tmp_path, target, port, "lost", steady_s=20)
    live = tmp_path / "reports" / "lost" / "client" / "target_2x" / "live.jsonl"
    deadline = time.monotonic() + 180
    while not (live.exists() and live.read_text().count("\n") >= 6):  # the load is on
        assert time.monotonic() < deadline and gate.poll() is None, "the load never started"
        time.sleep(0.5)
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker loop and its Locust worker, no goodbye
    out, _ = gate.communicate(timeout=300)
    verdict = Verdict.load_file(RunFolder(tmp_path / "reports" / "lost").verdict)
    assert gate.returncode == 2 and verdict.outcome == Outcome.invalid, out[-3000:]
    assert any("'doomed'" in r and "lost" in r for r in verdict.invalid_reasons), verdict.invalid_reasons
    assert not any("steady-one" in r for r in verdict.invalid_reasons)


def test_a_worker_running_other_code_is_refused_before_the_load(tmp_path, target, workers) -> None:
    copy = tmp_path / "tree"
    for part in ("harness", "scenarios"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    changed = copy / "harness" / "load" / "tally.py"
    changed.write_bytes(changed.read_bytes() + b"#")  # one byte
    port = free_port()
    _worker(workers, port, "same", tmp_path / "same.log")
    other = _worker(workers, port, "patched", tmp_path / "patched.log", tree=copy)
    gate = _gate(tmp_path, target, port, "refused", steady_s=10)
    out, _ = gate.communicate(timeout=300)
    assert gate.returncode == 3, out[-3000:]
    assert "worker 'patched'" in out and "runs other code" in out, out[-3000:]
    assert not RunFolder(tmp_path / "reports" / "refused").verdict.exists()
    stats = tmp_path / "reports" / "refused" / "client" / "target_2x" / ScenarioStats.FILE_NAME
    assert not stats.exists()  # no load at all
    assert other.wait(60) == 3  # the refused worker says so too
