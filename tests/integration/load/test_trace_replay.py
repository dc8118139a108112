"""Trace replay through the real runner: each request intended at t0 + the file's offset, late ones counted.

One connection (LOADGATE_CONNECTIONS=1) and a target that stalls every 15th request for 0.6 s: the
requests behind a stall cannot start on time, so the run must show late starts while every intended
start stays on the trace's timestamp.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import LoadError
from harness.load import run_scenario
from harness.load.trace import load_trace
from harness.schemas import RunFolder, ScenarioPlan
from harness.schemas.requests import read_request_log
from harness.schemas.timeline import ScenarioStats
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration

LATE_S = 0.05  # LOADGATE_LATE_MS default


def _trace(path: Path) -> Path:
    # 60 requests over ~6 s, at the Azure trace's 7-decimal resolution, a burst of 5 at one instant.
    stamps = [f"2024-05-01 10:00:{i // 10:02d}.{(i % 10) * 1000000 + 37:07d}" for i in range(55)]
    stamps += ["2024-05-01 10:00:03.5000000"] * 5
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                    + "\n".join(f"{s},{20 + i},{4 + i % 3}" for i, s in enumerate(stamps)) + "\n")
    return path


def test_replayed_starts_are_the_traces_timestamps_and_late_starts_are_counted(
    fast_target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fast_target("--stall-every", "15", "--stall-s", "0.6")
    monkeypatch.setenv("LOADGATE_CONNECTIONS", "1")
    monkeypatch.setenv("LOADGATE_DRAIN_S", "5")
    trace = _trace(tmp_path / "trace.csv")
    folder = RunFolder(tmp_path / "run")
    run = run_scenario("trace_replay", checklist=checklist(trace_replay=ScenarioPlan(stream_share=0)),
                       profile="quick", endpoints=endpoints(url), run_folder=folder, trace=trace)
    assert run.status == "completed", run.reason
    t0 = json.loads((folder.client_dir("trace_replay") / "generator.json").read_text())["t0"]
    log = read_request_log(folder.request_log("trace_replay")).sort_values("intended_start", kind="stable")
    offsets = [r.offset_s for r in load_trace(trace)]
    assert len(log) == len(offsets) == 60
    # The log keeps microseconds: every intended start is t0 + the file's offset to that resolution.
    assert (log.intended_start.to_numpy() - t0) == pytest.approx(offsets, abs=1.5e-6)
    late = int(((log.start - log.intended_start) > LATE_S).sum())
    stats = ScenarioStats.load_file(folder.client_stats("trace_replay")).phase("replay")
    assert late > 0 and stats.late_starts == late
    assert stats.requests == 60


def test_trace_belongs_to_trace_replay_only(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    with pytest.raises(LoadError, match="trace_replay"):
        run_scenario("target_2x", checklist=checklist(target_2x=ScenarioPlan(steady_s=1)), profile="quick",
                     endpoints=endpoints("http://127.0.0.1:9"), run_folder=folder, trace=tmp_path / "t.csv")
