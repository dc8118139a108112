"""Three workers' tallies, encoded as they travel and merged as the master merges them, against the
pooled raw log of the same requests: percentiles under one definition (nearest rank), within the
histogram's 3 significant digits; counts exact."""

from __future__ import annotations

import math
import random

import pandas as pd

from harness.load.plan import LoadPlan, PhaseSpec, SessionSpec
from harness.load.recorder import Recorder
from harness.load.stats import SPECTRUM
from harness.load.tally import Keeper, Tally
from harness.schemas.requests import REQUEST_LOG, RequestRow, read_request_log
from harness.schemas.timeline import ScenarioStats

WORKERS = 3


def _row(rng: random.Random, worker: int, i: int) -> RequestRow:
    # Each worker its own latency shape, so the pooled distribution is none of theirs.
    latency = rng.lognormvariate(-1.5 + 0.6 * worker, 0.8)
    intended = 1000.0 + i * 0.01 + worker * 0.003
    start = intended + rng.choice([0.0, 0.0, 0.0, 0.2])  # a quarter start late
    phase = "steady" if i % 5 else "warmup"
    status, outcome = rng.choice([(200, "served"), (200, "served"), (429, "shed"), (500, "error")])
    streamed = i % 2 == 0
    return RequestRow.measured(intended_start=intended, start=start, end=intended + latency, status=status,
                               endpoint="/v1/agent/stream" if streamed else "/v1/agent/run", phase=phase,
                               cached=i % 7 == 0, degraded=False, outcome=outcome,
                               ttft=latency / 3 if streamed else None,
                               itl=rng.uniform(0.005, 0.05) if streamed else None,
                               session=f"w{worker}s{i // 3}", turn=i % 3 + 1, turns=3,
                               cancelled=streamed and i % 11 == 0)


def _nearest_rank(values: pd.Series, p: float) -> float:
    ordered = values.sort_values().to_numpy()
    return float(ordered[min(max(math.ceil(p / 100 * len(ordered) - 1e-9), 1), len(ordered)) - 1])


def test_merged_worker_histograms_give_the_pooled_logs_percentiles(tmp_path) -> None:
    rng = random.Random(20)
    plan = LoadPlan(scenario="steady", phases=[PhaseSpec(name="warmup", duration_s=10, rate_rps=50),
                                               PhaseSpec(name="steady", duration_s=30, rate_rps=50)],
                    t0=995.0, late_ms=50, session=SessionSpec())
    rec = Recorder(plan, tmp_path / "master")
    keepers = [Keeper(tmp_path / f"w{w}" / REQUEST_LOG, plan.late_ms / 1000) for w in range(WORKERS)]
    for i in range(3000):
        for w, keeper in enumerate(keepers):
            keeper.keep(_row(rng, w, i))
            if i % 400 == 399:  # a flush: the increments cross as the message does
                rec.add_tally(keeper.tally.take())
    for w, keeper in enumerate(keepers):
        keeper.tally.add_dropped({"steady": w + 1})
        rec.add_tally(keeper.tally.take())
        keeper.log.close()
        rec.add_log(f"w{w}", keeper.log.path.read_text(encoding="utf-8"))
    rec.finish(ended=1040.0)

    log = read_request_log(tmp_path / "master" / REQUEST_LOG)
    assert len(log) == WORKERS * 3000  # every worker's log, merged after the run
    stats = ScenarioStats.load_file(tmp_path / "master" / ScenarioStats.FILE_NAME)
    for phase in ("warmup", "steady"):
        rows, merged = log[log.phase == phase], stats.phase(phase)
        assert merged.requests == len(rows)
        assert merged.late_starts == int((rows.start - rows.intended_start > 0.05).sum())
        assert merged.served == int((rows.outcome == "served").sum())
        assert merged.shed == int((rows.outcome == "shed").sum())
        assert merged.failures == int((rows.outcome == "error").sum())
        assert merged.cached == int(rows.cached.sum())
        for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
            for column, summary in (("latency", merged.latency), ("ttft", merged.ttft), ("itl", merged.itl)):
                raw = _nearest_rank(rows[column].dropna(), p)
                assert abs(getattr(summary, name) - raw) <= 1e-3 * raw + 1e-6, (phase, column, name, raw)
    assert stats.phase("steady").dropped == 1 + 2 + 3
    for p, value in stats.spectrum:
        raw = _nearest_rank(log.latency, p) if p else log.latency.min()
        assert abs(value - raw) <= 1e-3 * raw + 1e-6, (p, value, raw)
    assert [p for p, _ in stats.spectrum] == list(SPECTRUM)
    sessions = stats.sessions
    assert sessions is not None and sessions.started == log.session.nunique()
    assert sessions.cancelled_turns == int(log.cancelled.sum())
    for turn, summary in sessions.latency_by_turn.items():
        raw = _nearest_rank(log[log.turn == turn].latency, 99)
        assert abs(summary.p99 - raw) <= 1e-3 * raw + 1e-6


def test_a_take_is_an_increment_and_the_tally_starts_afresh() -> None:
    rng = random.Random(1)
    worker, master = Tally(late_s=0.05), Tally(late_s=0.05)
    for i in range(10):
        worker.add(_row(rng, 0, i))
    master.merge(worker.take())
    assert worker.requests == 0 and master.requests == 10
    worker.add(_row(rng, 0, 10))
    master.merge(worker.take())
    master.merge(worker.take())  # nothing new: nothing added twice
    assert master.requests == 11
    assert sum(n for (_, _, _), n in master.statuses.items()) == 11
