"""``loadgate worker --master HOST:PORT``: a load generator on another host, for every scenario of a run.

A gate runs its scenarios one after another, each with a fresh Locust master on the same
``--master-bind`` address. This loop starts one Locust worker (``locust -f - --worker``: the master
hands over the scenario's locustfile; the worker needs the same loadgate installed, nothing else)
whenever the master's port answers, and after each scenario waits for the next. It ends when no
master has answered for ``idle_exit_s`` (the run is over), or when the master refused it (exit 3).
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import ConfigError, LoadError
from harness.load.fleet import LATE_EXIT, REFUSED_EXIT, WORKER_NAME_ENV, safe_name
from harness.process import ManagedProcess

Say = Callable[[str], None]
POLL_S = 1.0
LATE_RETRY_S = 5.0  # a master whose load runs: try again this much later


def parse_master(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise LoadError(f"--master '{text}': write HOST:PORT (the gate's --master-bind)")
    return host.strip("[]"), int(port)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_for_master(host: str, port: int, idle_exit_s: float) -> bool:
    deadline = time.monotonic() + idle_exit_s
    while time.monotonic() < deadline:
        if _answers(host, port):
            return True
        time.sleep(POLL_S)
    return False


def serve(master: str, name: str, idle_exit_s: float, log_dir: Path, say: Say) -> int:
    """Work for each master that comes on ``master`` until none has for ``idle_exit_s``; the exit code."""
    host, port = parse_master(master)
    log_dir.mkdir(parents=True, exist_ok=True)
    scenarios = 0
    while _wait_for_master(host, port, idle_exit_s):
        scenarios += 1
        say(f"worker {name}: joining the master on {host}:{port} (scenario {scenarios})")
        argv = [sys.executable, "-m", "locust", "-f", "-", "--worker", "--master-host", host,
                "--master-port", str(port), "--loglevel", "INFO"]
        proc = ManagedProcess(f"locust worker {name}", argv, env={WORKER_NAME_ENV: name},
                              log_path=log_dir / f"{safe_name(name)}-{scenarios}.log").start()
        try:
            while proc.alive():
                time.sleep(POLL_S)
        finally:
            proc.stop(grace_s=5)
        if proc.exit_code == REFUSED_EXIT:
            raise ConfigError(f"worker {name}: the master on {host}:{port} refused it before the load; "
                              f"log {proc.log_path}:\n{proc.log_tail(5)}")
        if proc.exit_code == LATE_EXIT:
            say(f"worker {name}: the master on {host}:{port} had started its load; waiting for the next")
            scenarios -= 1
            time.sleep(LATE_RETRY_S)
            continue
        say(f"worker {name}: scenario {scenarios} over (exit code {proc.exit_code}); log {proc.log_path}")
        time.sleep(2 * POLL_S)  # the finished master closes its port before the next one opens it
    say(f"worker {name}: no master on {host}:{port} for {idle_exit_s:g} s: done after {scenarios} scenarios")
    return 0
