"""Must-show (issue 17): killing the harness in the middle of a fault leaves no fault applied.
SIGTERM clears it at once; after SIGKILL the proxies it started are gone and an admin-API fault
ends by itself within its lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from harness.schemas.faults import TOKEN_ENV
from harness.stack.service import start_service
from tests.e2e.proxy.conftest import AGENT_KEY, LOADGATE, TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
HERE = Path(__file__).parent


def _poll(check: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s:.0f} s: {what}"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone(pids: list[int]) -> bool:
    return not any(_alive(p) for p in pids)


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([LOADGATE, "run", *args, "--reports-dir", str(tmp_path), "--no-progress"],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def test_sigterm_clears_the_proxy_fault_at_once(agent_behind_proxy, tmp_path):
    agent, proxy = agent_behind_proxy(True)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def state() -> dict:
        return httpx.get(f"{proxy}/_proxy/fault", headers=auth, timeout=5).json()

    # A lease far longer than the test: only an explicit clear can end the fault in time.
    run = _run(["llm_slowdown", "--checklist", str(HERE / "resilience_checklist.yaml"), "--target-url", agent,
                "--api-key", AGENT_KEY, "--llm-proxy", proxy], tmp_path,
               **{TOKEN_ENV: TOKEN, "LOADGATE_FAULT_LEASE_S": "600"})
    try:
        _poll(lambda: state()["lease"] is not None, 180, "the fault was set")
        run.send_signal(signal.SIGTERM)
        assert run.wait(90) == 130, run.stderr.read()[-2000:] if run.stderr else ""
    finally:
        run.kill()
    after = state()
    assert after["lease"] is None and after["last_end"] == "cleared"


def test_sigkill_leaves_no_proxy_process_behind(tmp_path):
    state_file = tmp_path / "stack.json"
    up = subprocess.Popen([LOADGATE, "up", "--backend", "simulated", "--proxy-redis", "--state-file",
                           str(state_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _poll(state_file.exists, 240, "loadgate up wrote its state")
        state = json.loads(state_file.read_text())
        pids = [p["pid"] for p in state["processes"]]
        assert any(p["name"] == "redis proxy" for p in state["processes"]) and state["redis_proxy_url"]
        up.send_signal(signal.SIGKILL)
        up.wait(10)
        _poll(lambda: _gone(pids), 30, f"every child of the killed harness exited: {state['processes']}")
    finally:
        up.kill()


@pytest.fixture
def bundled_service(tmp_path: Path, redis_url: str) -> tuple[str, str]:
    proc, url, _ = start_service(tmp_path / "service", redis_url=redis_url, api_keys=["kill-key"],
                                 admin_token="kill-admin", backend="simulated")
    yield url, "kill-admin"
    proc.stop()


def test_sigkill_mid_fault_the_admin_api_fault_ends_within_its_lease(bundled_service, tmp_path):
    url, admin = bundled_service

    def redis_down() -> bool:
        faults = httpx.get(f"{url}/admin/faults", headers={"Authorization": f"Bearer {admin}"}, timeout=5)
        return faults.json()["redis_down"]

    lease_s = 15.0  # long enough that no busy machine ends it between the kill and the check below
    run = _run(["redis_outage", "--checklist", str(HERE / "redis_checklist.yaml"), "--target-url", url,
                "--api-key", "kill-key", "--admin-token", admin], tmp_path,
               LOADGATE_FAULT_LEASE_S=str(lease_s))
    try:
        _poll(redis_down, 180, "the fault was set")
        # Everything at once, as the OOM killer would: nothing of the harness runs after this.
        tree = [*psutil.Process(run.pid).children(recursive=True), psutil.Process(run.pid)]
        for proc in tree:
            proc.kill()
        run.wait(10)
    finally:
        run.kill()
    assert redis_down()  # nobody cleared it...
    _poll(lambda: not redis_down(), lease_s + 20, "the fault ended by itself")  # ...its lease ended it
