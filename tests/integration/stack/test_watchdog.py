"""The watchdog on real processes: a death is one incident with its exit code and log tail; a URL
that stops answering is named once, from the first failed poll on."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas import IncidentKind
from harness.stack.http import answers
from harness.stack.watchdog import REFUSED_AFTER_S, Watchdog, Watched

pytestmark = pytest.mark.integration


def _poll_until(dog: Watchdog, within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    while not dog.incidents and time.monotonic() < deadline:
        dog.poll()
        time.sleep(0.2)


def test_a_killed_process_is_one_incident_with_exit_code_and_log_tail(tmp_path: Path) -> None:
    code = "import sys, time; print('serving', flush=True); print('last words', flush=True); time.sleep(60)"
    proc = ManagedProcess("target service", [sys.executable, "-c", code], log_path=tmp_path / "t.log").start()
    try:
        proc.wait_ready(lambda: "last words" in proc.log_tail(), 30)
        dog = Watchdog([Watched("target service", process=proc)])
        dog.scenario = "target_2x"
        dog.poll()
        assert dog.abort_reason() is None, "a live process is no incident"
        os.kill(proc.pid, signal.SIGKILL)
        _poll_until(dog)
        dog.poll()
        (incident,) = dog.incidents
        assert incident.kind == IncidentKind.died and incident.exit_code == -signal.SIGKILL
        assert incident.scenario == "target_2x" and "last words" in incident.log_tail
        assert incident.ok_at is not None and incident.ok_at < incident.detected_at  # the poll before
        assert dog.abort_reason().startswith("target service died at")
    finally:
        proc.stop()


def test_a_url_that_stops_answering_is_named_once_from_its_first_silence(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess("http", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                            log_path=tmp_path / "http.log", cwd=tmp_path).start()
    url = f"http://127.0.0.1:{port}/"
    try:
        server.wait_ready(lambda: answers(url), 30)
        with Watchdog([Watched("target service", url=url)], poll_s=0.2) as dog:
            time.sleep(1)
            assert dog.incidents == []
            stopping = time.time()
            server.stop()
            stopped = time.time()
            deadline = time.monotonic() + 30
            while not dog.incidents and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # more polls of the same silence must not add incidents
        (incident,) = dog.incidents
        assert incident.kind == IncidentKind.no_answer
        # From the first silence: the last poll that got an answer began before the server was gone,
        # and the silence dates from the first failed poll after the stop began (no wall-clock bound).
        assert incident.ok_at is not None and incident.ok_at <= stopped and stopping <= incident.at
        assert incident.detected_at - incident.at >= REFUSED_AFTER_S
        assert incident.summary.startswith(f"target service: no answer from "
                                           f"{time.strftime('%H:%M', time.gmtime(incident.at))}")
        assert incident.summary.count("no answer") == 1 and "UTC on" in incident.summary
    finally:
        server.stop()
