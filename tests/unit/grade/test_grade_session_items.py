"""Session items graded from a request log the real recorder wrote (no Prometheus, no service)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.session_items import session_outcomes
from harness.load.plan import LoadPlan, PhaseSpec, SessionSpec
from harness.load.recorder import Recorder
from harness.schemas.checklist import Checklist
from harness.schemas.requests import RequestRow, read_request_log
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStats, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus

REPO = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000.0
PHASES = (("sessions", 35.0), ("tool_fault", 20.0))


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    return load_checklist(REPO / "checklist.yaml")


def write_sessions(root: Path, *, sessions: int, fail_every: int = 0, tool_s: float = 0.5,
                   tool_status: str = "timeout") -> RunFolder:
    """``sessions`` conversations spread over both phases; turns calling the external API in the
    tool_fault phase take ``tool_s`` longer and report ``tool_status``."""
    rng = random.Random(5)
    plan = LoadPlan(scenario="agent_sessions", session=SessionSpec(), t0=T0,
                    phases=[PhaseSpec(name=n, duration_s=d, rate_rps=1) for n, d in PHASES])
    folder = RunFolder(root).ensure()
    rec = Recorder(plan, folder.client_dir("agent_sessions"))
    for s in range(sessions):
        t = T0 + 55.0 * s / sessions
        planned = 1 + s % 6
        for turn in range(1, planned + 1):
            phase = "sessions" if t < T0 + 35 else "tool_fault"
            external = turn % 2 == 0
            slowed = phase == "tool_fault" and external
            status = tool_status if slowed else "ok"
            tools = "retrieval:ok" + (f";external_api:{status}" if external else "")
            latency = 0.2 + 0.05 * turn + (tool_s if slowed else 0.0) + rng.uniform(0, 0.02)
            failed = bool(fail_every) and s % fail_every == 0 and turn == planned
            code, outcome = (500, "error") if failed else (200, "served")
            rec.add_rows([RequestRow.measured(intended_start=t, start=t, end=t + latency, status=code,
                                              endpoint="/v1/agent/run", phase=phase, cached=False,
                                              degraded=status != "ok", outcome=outcome, session=f"s{s}",
                                              turn=turn, turns=planned, tools=tools)])
            t += latency + 1.0
    rec.finish(T0 + 70)
    run = ScenarioRun(name="agent_sessions", status=ScenarioStatus.completed, start=T0, end=T0 + 70,
                      phases=[Phase(name="sessions", start=T0, end=T0 + 35),
                              Phase(name="tool_fault", start=T0 + 35, end=T0 + 55)])
    Timeline(run_id="unit", scenarios=[run]).save_file(folder.timeline)
    return folder


def _grade(checklist: Checklist, folder: RunFolder, item_id: str):
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, prom_error="none",
                       folder=folder, timeline=Timeline.load_file(folder.timeline))
    return grade_item(ctx, next(i for i in checklist.items if i.id == item_id), {})


def test_a_healthy_run_passes_every_session_item(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_sessions(tmp_path, sessions=360)
    success = _grade(checklist, folder, "session_success")
    assert success.status == ItemStatus.passed and success.value == 1.0 and success.samples == 360
    assert success.bound >= 0.99
    deep = _grade(checklist, folder, "deep_turn_latency")
    assert deep.status == ItemStatus.passed and deep.samples >= 300
    assert deep.evidence["turns_to"] == 6 and deep.evidence["turns_from"] < 6
    p99 = deep.evidence["p99_by_turn"]
    assert p99[6] > p99[1]  # cost grows with the history
    tools = _grade(checklist, folder, "tool_error_rate")
    assert tools.status == ItemStatus.passed and tools.value == 0
    contained = _grade(checklist, folder, "tool_timeout_contained")
    assert contained.status == ItemStatus.passed and contained.value < 3
    # Every faulted call came back degraded; the healthy-phase calls are not in this window.
    assert contained.evidence["degraded"] == contained.samples > 0
    assert "external_api" in contained.reason


def test_a_slow_tool_without_timeout_fails_the_tool_item(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_sessions(tmp_path, sessions=360, tool_s=5.0, tool_status="ok")
    contained = _grade(checklist, folder, "tool_timeout_contained")
    assert contained.status == ItemStatus.failed and contained.value > 5
    assert _grade(checklist, folder, "session_success").status == ItemStatus.passed  # slow, not failed


def test_failed_turns_fail_their_sessions(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_sessions(tmp_path, sessions=360, fail_every=40)
    success = _grade(checklist, folder, "session_success")
    assert success.status == ItemStatus.failed
    assert success.evidence["failed_sessions"] == 9 and success.value == pytest.approx(1 - 9 / 360)


def test_too_few_sessions_cannot_pass(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_sessions(tmp_path, sessions=150)
    assert _grade(checklist, folder, "session_success").status == ItemStatus.no_data


def test_stats_json_and_the_graded_log_agree(tmp_path: Path) -> None:
    folder = write_sessions(tmp_path, sessions=200, fail_every=25)
    stats = ScenarioStats.load_file(folder.client_stats("agent_sessions")).sessions
    log = read_request_log(folder.request_log("agent_sessions"))
    per = session_outcomes(log)
    assert stats.started == len(per)
    assert stats.failed == int(per.failed.sum())
    assert stats.completed == int((per.finished & ~per.failed).sum())
    per_turn = log.groupby("turn").size().to_dict()
    assert {t: s.count for t, s in stats.latency_by_turn.items()} == per_turn
