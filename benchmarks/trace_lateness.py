"""How late real starts run during a trace replay on this machine, against a trivial endpoint.

The shipped bursty trace (``scenarios/data/trace_sample.csv``: gamma gaps, CV 2, ~8 req/s) is
replayed through the real runner (``loadgate run trace_replay``: Locust master + one worker, request
log, histograms); the baseline is the same number of requests at the same mean rate with constant
gaps. Lateness is ``start - intended_start`` from the request log: the generator's own scheduling
error, which latency from the intended start already includes. The target answers at once
(``benchmarks.trivial``), so what is measured is the generator, not a service.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from benchmarks.core import Row, Sample
from benchmarks.loadgen import Target
from harness.load import run_scenario
from harness.load.trace import load_trace
from harness.schemas import Checklist, Endpoints, Profile, RunFolder, ScenarioPlan
from harness.schemas.requests import read_request_log

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "scenarios" / "data" / "trace_sample.csv"


def _lags(folder: RunFolder, scenario: str) -> np.ndarray:
    log = read_request_log(folder.request_log(scenario))
    return (log.start - log.intended_start).to_numpy(dtype=float)


def _p(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q, method="inverted_cdf"))


def run(quick: bool = False) -> list[Row]:
    rows = load_trace(TRACE)
    if quick:
        rows = [r for r in rows if r.offset_s < 10]
    seconds = rows[-1].offset_s
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trace = work / "trace.jsonl"
        trace.write_text("".join(f'{{"timestamp": {r.offset_s!r}}}\n' for r in rows), encoding="utf-8")
        target = Target(work)
        try:
            rate = len(rows) / seconds
            checklist = Checklist(target_qps=rate, items=[], profiles={"quick": Profile(scenarios={
                "trace_replay": ScenarioPlan(stream_share=0)})})
            endpoints = Endpoints(target_url=target.url, prometheus_url="http://127.0.0.1:9", api_key="bench")
            folder = RunFolder(work / "run")
            run_scenario("trace_replay", checklist=checklist, profile="quick", endpoints=endpoints,
                         run_folder=folder, trace=trace)
            run_scenario("constant_step", checklist=checklist, profile="quick", endpoints=endpoints,
                         run_folder=folder, plan=ScenarioPlan(warmup_s=0, steady_s=seconds, rate_x=1,
                                                              arrival="constant", stream_share=0))
            replay, constant = _lags(folder, "trace_replay"), _lags(folder, "constant_step")
        finally:
            target.proc.stop()
    base = Sample.of("constant gaps", "s", constant.tolist())
    bursty = Sample.of("trace replay", "s", replay.tolist())
    p99_replay, p99_constant = _p(replay, 0.99), _p(constant, 0.99)
    return [Row(
        benchmark="trace replay start lateness (P99)", size=f"{len(replay)} requests, {seconds:.0f} s",
        baseline=base, optimized=bursty, ratio=p99_constant / p99_replay if p99_replay > 0 else float("inf"),
        ratio_text=f"P99 late by {p99_replay * 1000:.1f} ms (constant gaps {p99_constant * 1000:.1f} ms), "
                   f"max {replay.max() * 1000:.1f} ms",
        note="start - intended start from requests.csv; late (> 50 ms) starts are counted in stats.json",
        extra={"p99_replay_s": p99_replay, "p99_constant_s": p99_constant,
               "max_replay_s": float(replay.max()), "late_over_50ms": int((replay > 0.05).sum())},
    )]
