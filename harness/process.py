"""A child process that never outlives the harness (shared by the stack and the load runner).

Each child gets its own session (process group) so stopping it stops its children too (uvicorn
workers), and a parent-death signal so it is terminated even when the harness is SIGKILLed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from harness.errors import BinaryNotFoundError, ProcessStartError
from harness.ports import LOOPBACK

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. SIGTERM rather than SIGKILL so uvicorn's
    # supervisor still stops its workers on the way down.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def uvicorn_argv(app: str, port: int, *extra: str) -> list[str]:
    """The command line serving an ASGI ``module:app`` on loopback ``port``, with quiet logs."""
    return [sys.executable, "-m", "uvicorn", app, "--host", LOOPBACK, "--port", str(port),
            "--log-level", "warning", *extra]


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BinaryNotFoundError(
            f"'{name}' is not installed (Debian package '{package}'): run `make setup` "
            f"or `apt-get install {package}`"
        )
    return path


class State(Enum):
    created = "created"  # not started yet
    starting = "starting"  # spawned, not yet answering its readiness check
    ready = "ready"  # answered its readiness check
    stopped = "stopped"  # exited (by us or by itself)


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], *, log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.state = State.created
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._popen = subprocess.Popen(  # noqa: S603 - argv built by us, never a shell
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})}, cwd=self.cwd,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        self.state = State.starting
        return self

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The exit status once it has exited (negative: killed by that signal), else None."""
        return self._popen.poll() if self._popen else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def _failure(self, why: str) -> ProcessStartError:
        return ProcessStartError(
            f"{self.name} {why}\n  command: {' '.join(self.argv)}\n  log: {self.log_path}\n"
            f"  last lines:\n    " + self.log_tail().replace("\n", "\n    ")
        )

    def wait_ready(self, check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> None:
        """Poll ``check`` until it returns True; fail fast with the log if the process exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                code = self._popen.returncode if self._popen else None
                self.stop()
                raise self._failure(f"exited with code {code} before it was ready")
            try:
                if check():
                    self.state = State.ready
                    return
            except Exception:  # noqa: BLE001 - any failure of the probe means "not ready yet"
                pass
            time.sleep(interval_s)
        self.stop()
        raise self._failure(f"was not ready after {timeout_s:.0f} s")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left after ``grace_s``."""
        if self._popen is None or self.state == State.stopped:
            return
        pgid = self._popen.pid  # start_new_session: the child leads its own group
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self._popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; its group may still hold workers it left behind.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            break
        self.state = State.stopped
