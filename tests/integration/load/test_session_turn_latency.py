"""Latency by turn index carries the history's prefill, on a setup where it must: the bundled service
with conversation memory and a simulated LLM whose first token waits 4 ms per prompt word (prefill),
driven by agent_sessions through the real runner. Every turn misses the response cache (fresh prompts),
so what grows from turn to turn is the history in the prompt. Load-proof: the model's own trace says
what it waited before each turn's first token (deterministic from the words it read, then jittered);
that rises with the turn, and every measured latency is at least it (load only adds time). The
per-turn statistics in ``stats.json`` agree with the request log they were recorded from, and the
report's chart draws them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.load import run_scenario
from harness.report.charts import scenario_charts
from harness.report.rundata import load_run
from harness.schemas import Endpoints, RunFolder, ScenarioPlan, ScenarioStats
from harness.schemas.requests import read_request_log
from harness.stack.redis import start_redis
from harness.stack.service import start_service
from tests.integration.load.conftest import checklist, first_token_waits

pytestmark = pytest.mark.integration

KEY, ADMIN = "turns-key", "turns-admin"
# ~35 prompt words at turn 1, ~40 more per answered turn (the question and a 32-word answer): ~0.15 s
# more prefill per turn, against 0.05 s + 32 x 5 ms of generation.
SIM = {"AGENT_SIM_TTFT_S": "0.05", "AGENT_SIM_PER_TOKEN_S": "0.005", "AGENT_SIM_PREFILL_PER_TOKEN_S": "0.004",
       "AGENT_LLM_TIMEOUT_S": "10"}
DEEP = 3  # turns 1..DEEP are compared; deeper ones are too few in 15 s to rank their medians


@pytest.fixture(scope="module")
def memory_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The service's URL and its simulated model's trace."""
    work = tmp_path_factory.mktemp("sessions")
    trace = work / "sim-trace.jsonl"
    redis, redis_url = start_redis(work / "redis")
    try:
        service, url, _ = start_service(work / "service", redis_url=redis_url, api_keys=[KEY],
                                        admin_token=ADMIN, backend="simulated",
                                        extra_env={**SIM, "AGENT_SIM_TRACE_PATH": str(trace)})
        try:
            yield url, trace
        finally:
            service.stop()
    finally:
        redis.stop()


def _nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered) - 1e-9) - 1]


def test_turn_latency_carries_the_growing_history(memory_service: tuple[str, Path], tmp_path: Path) -> None:
    url, trace = memory_service
    folder = RunFolder(tmp_path / "run")
    plan = ScenarioPlan(warmup_s=0, steady_s=15, turn_rate_rps=12, turns_mean=4, turns_max=6,
                        think_time_s=0.2, fresh_share=1.0)
    run_scenario("agent_sessions", checklist=checklist(agent_sessions=plan), profile="quick",
                 endpoints=Endpoints(target_url=url, prometheus_url="http://127.0.0.1:9",
                                     api_key=KEY, admin_token=ADMIN), run_folder=folder)
    log = read_request_log(folder.request_log("agent_sessions"))
    by_turn = ScenarioStats.load_file(folder.client_stats("agent_sessions")).sessions.latency_by_turn
    assert (log.outcome == "served").all() and not log.degraded.any(), log.outcome.value_counts()
    p50 = {}
    for turn in range(1, DEEP + 1):
        latencies = list(log[log.turn == turn].latency)
        assert len(latencies) >= 10 and by_turn[turn].count == len(latencies), (turn, len(latencies))
        exact = _nearest_rank(latencies, 50)
        assert abs(by_turn[turn].p50 - exact) <= 0.001 * exact + 2e-6  # stats.json agrees with the log
        p50[turn] = exact
    waits = first_token_waits(trace, log)
    # Each turn's prompt carries ~40 more words than the last: ~0.15 s more modelled before the first
    # token (the model's own numbers, not the clock's).
    modelled = waits[waits.turn <= DEEP].groupby("turn").first_token_s.median()
    assert len(modelled) == DEEP and (modelled.diff().dropna() > 0.1).all(), modelled
    # The prefill is in what was measured: no turn took less than its model waited (load only adds).
    short = waits[waits.latency < waits.waited_s]
    assert short.empty, short[["session", "turn", "latency", "waited_s"]]
    # The report's chart draws these same numbers.
    chart = next(c for c in scenario_charts(load_run(folder), "agent_sessions") if c.key == "turn-latency")
    drawn = dict(next(line for line in chart.lines if line.label == "p50").points)
    assert all(drawn[float(turn)] == by_turn[turn].p50 for turn in p50), (drawn, p50)
