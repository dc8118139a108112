"""The recorder alone: rows in, request log and HdrHistogram statistics out."""

from __future__ import annotations

import json
import math
import random

import pandas as pd

from harness.load.plan import LoadPlan, PhaseSpec, SessionSpec
from harness.load.recorder import RESULT_FILE, Recorder
from harness.schemas.requests import REQUEST_LOG, RequestRow, read_request_log
from harness.schemas.timeline import ScenarioStats


def _plan() -> LoadPlan:
    return LoadPlan(
        scenario="s",
        phases=[
            PhaseSpec(name="warmup", duration_s=10, rate_rps=5),
            PhaseSpec(name="steady", duration_s=100, rate_rps=50),
        ],
        t0=1000.0,
        late_ms=50,
    )


def _rows(n: int, rng: random.Random) -> list[RequestRow]:
    rows = []
    for i in range(n):
        intended = 1010 + 100 * i / n
        start = intended + (0.2 if i % 50 == 0 else rng.uniform(0, 0.01))  # 2% late
        end = start + rng.lognormvariate(-1.5, 0.8)
        # 1% server errors, 1% shed, 1% answered 200 with a body that could not be read
        planted = {0: (500, "error"), 1: (429, "shed"), 2: (200, "error")}
        status, outcome = planted.get(i % 100, (200, "served"))
        stream = i % 5 == 0
        rows.append(
            RequestRow.measured(
                intended_start=intended,
                start=start,
                end=end,
                status=status,
                endpoint="/v1/agent/stream" if stream else "/v1/agent/run",
                phase="steady",
                cached=i % 3 == 0,
                degraded=False,
                ttft=(end - intended) / 2 if stream else None,
                itl=rng.uniform(0.005, 0.05) if stream else None,
                outcome=outcome,
            )
        )
    return rows


def test_histogram_percentiles_match_the_written_log_within_a_tenth_of_a_percent(tmp_path) -> None:
    rec = Recorder(_plan(), tmp_path)
    rows = _rows(5000, random.Random(1))
    for i in range(0, len(rows), 37):
        rec.add_rows(rows[i : i + 37])
    rec.add_dropped({"steady": 3})
    rec.finish(ended=1110.0)
    stats = ScenarioStats.load_file(tmp_path / "stats.json")
    log = read_request_log(tmp_path / REQUEST_LOG)
    steady = stats.phase("steady")
    assert steady.requests == len(log) == 5000
    columns = (("latency", steady.latency), ("latency_uncorrected", steady.latency_uncorrected),
               ("ttft", steady.ttft), ("itl", steady.itl))
    for column, summary in columns:
        values = sorted(log[column].dropna())
        for p, got in ((50, summary.p50), (90, summary.p90), (99, summary.p99), (99.9, summary.p999)):
            exact = values[math.ceil(p / 100 * len(values) - 1e-9) - 1]
            assert abs(got - exact) <= 0.001 * exact + 2e-6, (column, p, got, exact)
        assert abs(summary.max - values[-1]) <= 0.001 * values[-1]
    assert steady.status_counts == {"200": 4900, "429": 50, "500": 50}
    assert (steady.served, steady.shed, steady.failures) == (4850, 50, 100)
    assert log["outcome"].value_counts().to_dict() == {"served": 4850, "error": 100, "shed": 50}
    assert steady.late_starts == 100  # exactly the rows started 200 ms after schedule
    assert steady.dropped == 3
    assert steady.ttft.count == steady.itl.count == 1000 and steady.cached == 1667
    assert steady.achieved_rps == 50.0 and steady.target_rps == 50
    assert stats.phase("warmup").requests == 0
    assert [p for p, _ in stats.spectrum][-1] == 100
    result = json.loads((tmp_path / RESULT_FILE).read_text())
    assert [p["name"] for p in result["phases"]] == ["warmup", "steady"] and result["dropped"] == 3


def test_live_samples_keep_a_sliding_window(tmp_path) -> None:
    plan = _plan()
    plan.stop_window_s = 10
    rec = Recorder(plan, tmp_path)
    rec.add_rows(
        [
            RequestRow.measured(
                intended_start=1020.0 + i / 10,
                start=1020.0 + i / 10,
                end=1020.5 + i / 10,
                status=500 if i < 50 else 200,
                endpoint="/v1/agent/run",
                phase="steady",
                cached=False,
                degraded=False,
                outcome="error" if i < 50 else "served",
            )
            for i in range(200)
        ]
    )
    rec.worker_state("w1", users=3, in_flight=2, cpu=40.0)
    rec.worker_state("w2", users=4, in_flight=1, cpu=95.0)
    sample = rec.sample(1040.0, master_cpu=10.0)
    assert sample["window_n"] == 105  # ends in the last 10 s: 1030.0 .. 1040.4 (rows 95..199)
    assert sample["window_error_rate"] == 0 and sample["errors"] == 50
    assert sample["users"] == 7 and sample["in_flight"] == 3 and sample["cpu_max"] == 95.0
    assert sample["phase"] == "steady"
    rec.finish(1110.0)
    stats = ScenarioStats.load_file(tmp_path / "stats.json")
    assert stats.phase("steady").max_users == 7 and stats.phase("steady").generator_cpu_max == 95.0


def _session_rows(rng: random.Random) -> tuple[list[RequestRow], dict[str, str]]:
    """40 sessions of 1-5 turns; s % 10 == 1 fails at its second turn; the last 3 are cut by the end."""
    rows, expected = [], {}
    for s in range(40):
        planned = 1 + s % 5
        asked = planned if s < 37 else max(planned - 1, 0)
        t = 1010 + s
        for turn in range(1, asked + 1):
            failed = s % 10 == 1 and turn == 2
            end = t + 0.1 * turn + rng.uniform(0, 0.05)
            tools = "retrieval:ok" + (";external_api:timeout" if turn == 3 else "")
            status, outcome = (500, "error") if failed else (200, "served")
            rows.append(RequestRow.measured(intended_start=t, start=t, end=end, status=status,
                                            endpoint="/v1/agent/run", phase="steady", cached=False,
                                            degraded=turn == 3, outcome=outcome, session=f"s{s}", turn=turn,
                                            turns=planned, tools=tools))
            if failed:
                break
            t = end + 1
        expected[f"s{s}"] = ("failed" if s % 10 == 1 else
                             "unfinished" if asked < planned else "completed")
    return rows, expected


def test_session_statistics_agree_with_the_request_log(tmp_path) -> None:
    plan = _plan().model_copy(update={"session": SessionSpec()})
    rec = Recorder(plan, tmp_path)
    rows, expected = _session_rows(random.Random(2))
    rec.add_rows(rows)
    rec.finish(ended=1110.0)
    sessions = ScenarioStats.load_file(tmp_path / "stats.json").sessions
    log = read_request_log(tmp_path / REQUEST_LOG)
    outcomes = pd.Series(expected).value_counts().to_dict()
    assert sessions.started == log.session.nunique() == 40
    assert (sessions.completed, sessions.failed, sessions.unfinished) == (
        outcomes["completed"], outcomes["failed"], outcomes["unfinished"])
    for turn, summary in sessions.latency_by_turn.items():
        values = sorted(log[log.turn == turn].latency)
        assert summary.count == len(values)
        assert abs(summary.max - values[-1]) <= 0.001 * values[-1]
    assert sessions.tool_outcomes == {"retrieval": {"ok": len(log)},
                                      "external_api": {"timeout": int((log.turn == 3).sum())}}
    finished = [s for s, o in expected.items() if o != "unfinished"]
    asked = log[log.session.isin(finished)].groupby("session").size().value_counts().to_dict()
    assert sessions.turns_per_session == asked
