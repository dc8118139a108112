"""`ps` during a gate shows no key and no token: the user's key and admin token come from the
environment (or a file), and loadgate hands them to its children the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from short_gate import ROOT, short_checklist

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas import RunFolder
from harness.stack.http import answers

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

KEY = "lg-test-key-5c1d9e7a0b"
TOKEN = "lg-test-token-77f03a21c4"


def _everyones_command_lines() -> list[str]:
    lines = []
    for proc in psutil.process_iter(["cmdline"]):
        lines.append(" ".join(proc.info["cmdline"] or []))
    return lines


def test_ps_during_a_gate_shows_no_key_and_no_token(tmp_path: Path) -> None:
    port = free_port()
    target = ManagedProcess("planted", [sys.executable, "-m", "tests.planted", "--port", str(port)],
                            log_path=tmp_path / "planted.log", cwd=ROOT,
                            env={"PLANTED_API_KEYS": KEY}).start()
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    key_file.chmod(0o600)
    folder = RunFolder(tmp_path / "reports" / "ps")
    try:
        target.wait_ready(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 30)
        gate = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "gate", "--target-url", f"http://127.0.0.1:{port}",
             "--api-key-file", str(key_file), "--no-progress", "--reports-dir", str(folder.root.parent),
             "--run-id", "ps", "--checklist", str(short_checklist(
                 tmp_path, ("load_2x_target", "error_rate", "health_check"), steady_s=8, concurrency=False))],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "LOADGATE_ADMIN_TOKEN": TOKEN})
        seen, during_load = [], 0
        while gate.poll() is None:
            lines = _everyones_command_lines()
            seen += [line for line in lines if KEY in line or TOKEN in line]
            during_load += any("locust" in line and "--master" in line for line in lines)
            time.sleep(0.3)
        out = gate.stdout.read()
    finally:
        target.stop()
    assert gate.returncode in (0, 1, 2), out[-3000:]  # a verdict: the key reached the target
    assert during_load >= 3, "the load generator was never seen: ps was not watched during the gate"
    assert seen == []
    assert KEY not in out and TOKEN not in out
    assert not [p for p in folder.root.rglob("*") if p.is_file() and KEY in p.read_text(errors="replace")]
