"""The embedded stack with real redis-server and prometheus: readiness, teardown, clear failures."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from harness.errors import BinaryNotFoundError, PortInUseError, ProcessStartError
from harness.stack.prometheus import alert_rules_path, start_prometheus
from harness.stack.redis import start_redis

pytestmark = pytest.mark.integration


def _gone(pid: int, within_s: float = 10.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_redis_and_prometheus_answer_then_stop_cleanly(tmp_path: Path) -> None:
    redis_proc, redis_url = start_redis(tmp_path / "redis")
    prom_proc, prom_url = start_prometheus(tmp_path / "prom", {"agent": "127.0.0.1:1"})
    try:
        assert redis.Redis.from_url(redis_url).ping()
        assert httpx.get(f"{prom_url}/-/ready").status_code == 200
        rules = httpx.get(f"{prom_url}/api/v1/rules").json()["data"]["groups"]
        assert sorted(r["name"] for g in rules for r in g["rules"]) == ["HighErrorRate", "HighLatency",
                                                                         "LLMLatencyHigh"]
        config = httpx.get(f"{prom_url}/api/v1/status/config").json()["data"]["yaml"]
        assert "scrape_interval: 1s" in config
    finally:
        pids = [redis_proc.pid, prom_proc.pid]
        prom_proc.stop()
        redis_proc.stop()
    assert all(_gone(pid) for pid in pids)


def test_sigkill_of_the_harness_leaves_no_orphans(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from harness.stack.redis import start_redis
        from harness.stack.prometheus import start_prometheus
        r, _ = start_redis(Path({str(tmp_path)!r}) / "r")
        p, _ = start_prometheus(Path({str(tmp_path)!r}) / "p", {{"agent": "127.0.0.1:1"}})
        print(r.pid, p.pid, flush=True)
        time.sleep(120)
    """)
    harness = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in harness.stdout.readline().split()]
        assert len(pids) == 2 and all(psutil.pid_exists(pid) for pid in pids)
        harness.kill()  # SIGKILL: no Python cleanup runs; only the parent-death signal can help
        harness.wait(10)
        assert all(_gone(pid) for pid in pids), "a child outlived a SIGKILLed harness"
    finally:
        harness.kill()


def test_child_that_fails_to_start_is_reported_with_its_log_and_cleaned_up(tmp_path: Path) -> None:
    bad_rules = tmp_path / "bad_rules.yml"
    bad_rules.write_text("groups: [{name: x, rules: [{alert: A, expr: 'rate(('}]}]\n")
    before = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "prometheus"}
    with pytest.raises(ProcessStartError) as err:
        start_prometheus(tmp_path / "prom", {"agent": "127.0.0.1:1"}, rule_files=[bad_rules])
    message = str(err.value)
    assert "prometheus exited with code" in message
    assert "--config.file=" in message  # the command line
    assert "bad_rules.yml" in message  # from the log tail: Prometheus names the broken file
    after = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "prometheus"}
    assert after <= before


def test_port_already_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"redis-server: port 127.0.0.1:{port} is already in use"):
            start_redis(tmp_path, port=port)


def test_missing_binary_says_which_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError, match="apt-get install prometheus"):
        start_prometheus(tmp_path, {})


def test_alert_rules_pass_promtool() -> None:
    out = subprocess.run(["promtool", "check", "rules", str(alert_rules_path())], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 3 rules found" in out.stdout
