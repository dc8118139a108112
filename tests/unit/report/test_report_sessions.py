"""The report's session section and turn-latency chart agree with the request log they came from."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

from harness.load.plan import LoadPlan, PhaseSpec, SessionSpec
from harness.load.recorder import Recorder
from harness.report import render_run
from harness.report.charts import scenario_charts
from harness.report.rundata import load_run
from harness.schemas.requests import RequestRow, read_request_log
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline

T0 = 1_700_000_000.0


def _folder(root: Path) -> RunFolder:
    rng = random.Random(11)
    plan = LoadPlan(scenario="agent_sessions", session=SessionSpec(), t0=T0,
                    phases=[PhaseSpec(name="sessions", duration_s=60, rate_rps=2)])
    folder = RunFolder(root).ensure()
    rec = Recorder(plan, folder.client_dir("agent_sessions"))
    for s in range(120):
        t, planned = T0 + s / 2, 1 + s % 7
        for turn in range(1, planned + 1):
            latency = 0.1 * turn + rng.expovariate(10)  # grows with the history
            failed = s % 30 == 0 and turn == planned
            tools = "retrieval:ok" + (";external_api:error" if s % 9 == 0 and turn == 1 else "")
            code, outcome = (500, "error") if failed else (200, "served")
            rec.add_rows([RequestRow.measured(intended_start=t, start=t, end=t + latency, status=code,
                                              endpoint="/v1/agent/run", phase="sessions", cached=False,
                                              degraded=False, outcome=outcome, session=f"s{s}", turn=turn,
                                              turns=planned, tools=tools)])
            t += latency + 1
    rec.finish(T0 + 70)
    Timeline(run_id="unit", scenarios=[ScenarioRun(
        name="agent_sessions", status=ScenarioStatus.completed, start=T0, end=T0 + 70,
        phases=[Phase(name="sessions", start=T0, end=T0 + 60)])]).save_file(folder.timeline)
    return folder


def test_turn_latency_chart_matches_the_log(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    chart = next(c for c in scenario_charts(load_run(folder), "agent_sessions") if c.key == "turn-latency")
    log = read_request_log(folder.request_log("agent_sessions"))
    p99 = dict(next(line for line in chart.lines if line.label == "p99").points)
    for turn, group in log.groupby("turn"):
        values = sorted(group.latency)
        exact = values[math.ceil(0.99 * len(values) - 1e-9) - 1]  # nearest rank, as the histogram's
        assert abs(p99[float(turn)] - exact) <= 0.001 * exact + 2e-6
    assert p99[7.0] > p99[1.0]  # rising with the history


def test_session_and_tool_tables_match_the_log(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    html = render_run(folder).read_text()
    log = read_request_log(folder.request_log("agent_sessions"))
    sessions = log.session.nunique()
    failed = log[log.outcome == "error"].session.nunique()
    row = re.search(r'data-sessions="(\d+)">.*?<tr><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', html, re.S)
    assert row is not None
    assert [int(x) for x in row.groups()] == [sessions, sessions, sessions - failed, failed]
    errors = int(log.tools.str.contains("external_api:error").sum())
    assert f'title="error: {errors}"' in html
    assert f'title="ok: {len(log)}"' in html  # every turn called retrieval
