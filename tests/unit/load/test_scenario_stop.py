"""A scenario ended early records whose failure ended it and in which phase (``ScenarioRun.stop``), so
the items of that phase can tell a service that failed under its fault from a run cut short."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from harness.load.guard import LoadSettings, invalid_reasons
from harness.load.master import LiveTail, _outside_stop, _stop
from harness.load.recorder import STOP_FILE
from harness.process import ManagedProcess
from harness.schemas.timeline import (
    LatencySummary,
    PhaseStats,
    ScenarioRun,
    ScenarioStats,
    ScenarioStatus,
    ScenarioStop,
    StopCause,
)


def test_a_stop_records_its_cause_and_the_running_phase(tmp_path: Path) -> None:
    run = ScenarioRun(name="llm_slowdown", status=ScenarioStatus.running, start=time.time())
    silence = ScenarioStop(cause=StopCause.service, reason="target service: no answer", at=0.0, since=5.0)
    stop = _outside_stop(lambda: silence, [])
    assert stop is not None
    _stop(LiveTail(tmp_path / "live.jsonl"), run, stop, "fault")
    assert run.status == ScenarioStatus.aborted and run.reason == "stopped: target service: no answer"
    assert run.stop is not None and run.stop.cause == StopCause.service and run.stop.phase == "fault"
    assert run.stop.since == 5.0 and run.stop.at > 0
    assert (tmp_path / STOP_FILE).read_text() == run.reason  # what the Locust master polls


def test_a_dead_load_generator_is_the_runs_own_failure(tmp_path: Path) -> None:
    worker = ManagedProcess("locust worker 0 (x)", [sys.executable, "-c", "raise SystemExit(3)"],
                            log_path=tmp_path / "w.log").start()
    deadline = time.monotonic() + 30
    while worker.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop = _outside_stop(lambda: None, [worker])
    assert stop is not None and stop.cause == StopCause.harness
    assert "exited with code 3" in stop.reason


def _phase(name: str, requests: int, seconds: float) -> PhaseStats:
    empty = LatencySummary(count=requests)
    return PhaseStats(phase=name, start=0, end=seconds, requests=requests, failures=0, target_rps=25.0,
                      achieved_rps=requests / seconds, latency=empty, latency_uncorrected=empty)


def test_requests_a_stalled_service_still_held_were_issued() -> None:
    # The quick hand run: 333 answered + 376 held in 27 s of a 25 req/s fault (not a 12.3 req/s generator).
    stats = ScenarioStats(scenario="s", phases=[_phase("before", 500, 20), _phase("fault", 333, 27)])
    assert "issued 12.3 req/s" in invalid_reasons([], stats, LoadSettings(), poisson=False)[0]
    assert invalid_reasons([], stats, LoadSettings(), poisson=False, unanswered=376) == []
