"""A stack that outlives the command that started it (``loadgate up``), found again by ``status`` and
``down`` through a state file."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.schemas.files import PRIVATE, write_atomic
from harness.stack import Stack, StackSettings
from harness.stack.http import answers

STOP_WAIT_S = 30.0
SECRET_FIELDS = ("api_key", "api_key_2", "admin_token", "proxy_token")  # of Endpoints


def save_state(path: Path, stack: Stack) -> dict[str, Any]:
    """Write the state file: who holds the stack, its endpoints and its processes (the one writer).

    No key or token goes into it: each is written to its own 0600 file beside it (usable as
    ``--api-key-file``), whose path the state names; the state file itself is 0600 too.
    """
    ends = stack.endpoints
    files = {name: write_atomic(path.parent / name, value + "\n", mode=PRIVATE)
             for name in SECRET_FIELDS if (value := getattr(ends, name))}
    state = {"pid": os.getpid(), "started": time.time(),
             **ends.model_dump(mode="json", exclude=set(SECRET_FIELDS)),
             "secret_files": {name: str(file) for name, file in files.items()},
             "processes": [{"name": p.name, "pid": p.pid} for p in stack.processes]}
    write_atomic(path, json.dumps(state, indent=2), mode=PRIVATE)
    return state


def load_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("no stack is running here (start one with `loadgate up`)", path=str(path)) from None


def hold(settings: StackSettings, state_file: Path, ready: Callable[[dict[str, Any]], None]) -> None:
    """Start the stack, record it, call ``ready`` with the state, and keep it until a signal ends us."""
    settings = settings.model_copy(update={"run_dir": state_file.parent / "stack-run"})
    with Stack(settings) as stack:
        state = save_state(state_file, stack)
        try:
            ready(state)
            signal.pause()
        finally:
            for name in SECRET_FIELDS:
                (state_file.parent / name).unlink(missing_ok=True)
            state_file.unlink(missing_ok=True)


def release(state_file: Path) -> bool:
    """Ask the holding process to stop (it tears the stack down); False when it was not running."""
    state = load_state(state_file)
    try:
        os.kill(state["pid"], signal.SIGTERM)
    except ProcessLookupError:
        state_file.unlink(missing_ok=True)  # stale: the holder died without cleaning up
        return False
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline and state_file.exists():
        time.sleep(0.2)
    return True


def health(state_file: Path) -> list[tuple[str, bool, str]]:
    """(part, up, where) for each endpoint and process of the recorded stack."""
    state = load_state(state_file)
    checks = [(name, answers(url), url) for name, url in (
        ("target service", f"{state['target_url']}/healthz"),
        ("prometheus", f"{state['prometheus_url']}/-/ready"))]
    return checks + [(p["name"], _pid_alive(p["pid"]), f"pid {p['pid']}") for p in state["processes"]]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
