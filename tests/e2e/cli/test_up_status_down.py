"""`loadgate up` / `status` / `down` as a user runs them: real processes, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LOADGATE = [sys.executable, "-m", "harness.cli"]


def _children(pid: int) -> list[int]:
    return [p.pid for p in psutil.Process(pid).children(recursive=True)]


def _all_gone(pids: list[int], within_s: float = 20.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = [
            p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]
        if not alive:
            return True
        time.sleep(0.2)
    return False


def _start_up(state: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    up = subprocess.Popen(
        [*LOADGATE, "up", "--backend", "simulated", "--state-file", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    urls: dict[str, str] = {}
    for line in up.stdout:
        if line.startswith("stack is up"):
            return up, urls
        key, _, value = line.partition(" ")
        urls[key] = value.strip()
    raise AssertionError(f"loadgate up exited with {up.wait()} before the stack was up: {urls}")


def test_up_status_down_and_no_process_left(tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    up, urls = _start_up(state)
    try:
        children = _children(up.pid)
        assert len(children) >= 3, "redis, prometheus and the service (and its workers) should run"
        # No key on the terminal or in stack.json: each in its own 0600 file, named there.
        key_files = {name: Path(urls[f"{name}_file"]) for name in ("api_key", "api_key_2", "admin_token")}
        secrets = {name: path.read_text().strip() for name, path in key_files.items()}
        assert all(oct(path.stat().st_mode & 0o777) == "0o600" for path in key_files.values())
        assert oct(state.stat().st_mode & 0o777) == "0o600"
        state_text = state.read_text()
        shown = " ".join(f"{k} {v}" for k, v in urls.items())
        assert all(value and value not in state_text and value not in shown for value in secrets.values())
        headers = {"Authorization": f"Bearer {secrets['api_key']}"}
        answer = httpx.post(
            f"{urls['target_url']}/v1/agent/run",
            json={"input": "what is an SLO?"},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["answer"]

        status = subprocess.run(
            [*LOADGATE, "status", "--state-file", str(state)], capture_output=True, text=True, timeout=30
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count(" up ") >= 4 and "DOWN" not in status.stdout

        down = subprocess.run(
            [*LOADGATE, "down", "--state-file", str(state)], capture_output=True, text=True, timeout=60
        )
        assert down.returncode == 0 and "stack stopped" in down.stdout
        assert up.wait(30) == 130  # stopped by SIGTERM, unwound like Ctrl-C
        assert _all_gone(children), "a stack process outlived `loadgate down`"
        assert not state.exists()
        assert not any(path.exists() for path in key_files.values())
    finally:
        if up.poll() is None:
            os.kill(up.pid, signal.SIGKILL)


def test_sigkill_of_up_leaves_no_orphans(tmp_path: Path) -> None:
    up, _ = _start_up(tmp_path / "stack.json")
    children = _children(up.pid)
    up.kill()
    up.wait(10)
    assert _all_gone(children), "a stack process outlived a SIGKILLed `loadgate up`"
