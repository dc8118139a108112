"""The capacity search against a planted target whose capacity is known: at most 4 requests at a
time, 0.1 s each, so it holds 4 / 0.1 = 40 req/s and no more. Real load runner, real processes."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.capacity import CapacitySettings, LoadDriver, Target, run_capacity
from harness.capacity.observe import idle_level, wait_drained
from harness.load import prompt_picker, run_scenario, target_in_flight
from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas.capacity import CapacityResult, StepOutcome
from harness.schemas.checklist import Checklist, Profile
from harness.schemas.run import Endpoints, RunFolder
from harness.stack.http import answers
from harness.target.client import TargetClient

REPO = Path(__file__).resolve().parents[3]
CONCURRENCY, SERVICE_TIME_S = 4, 0.1
CAPACITY = CONCURRENCY / SERVICE_TIME_S


@contextmanager
def planted_target(workdir: Path) -> Iterator[Target]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.planted", "--port", str(port), "--any-key", "--no-rate-limit",
            "--max-concurrency", str(CONCURRENCY), "--service-time-s", str(SERVICE_TIME_S)]
    proc = ManagedProcess("planted-capacity", argv, log_path=workdir / "planted.log", cwd=REPO).start()
    try:
        url = f"http://127.0.0.1:{port}"
        proc.wait_ready(lambda: answers(f"{url}/healthz"), 30)
        # No Prometheus is needed: the search reads the runner's request log and the target's /metrics.
        yield Target(Endpoints(target_url=url, prometheus_url="http://127.0.0.1:9", api_key="planted-key"),
                     service_pid=proc.pid)
    finally:
        proc.stop()


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_finds_the_planted_capacity_within_5_percent(tmp_path: Path) -> None:
    # P99 < 0.5 s = 5 service times: a backlog growing even 2.5% faster than 40 req/s breaks it
    # (or shows as growth) within a step; below 40 req/s, constant arrivals never queue.
    checklist = Checklist(target_qps=10, slo_p99_s=0.5, slo_error_rate=0.01,
                          profiles={"quick": Profile(scenarios={})}, items=[])
    settings = CapacitySettings(worker_counts=[None], tolerance=0.04, arrival="constant",
                                time_budget_s=150, peak_qps=100, headroom=2)
    folder = RunFolder(tmp_path / "run").ensure()

    @contextmanager
    def targets(workers: int | None) -> Iterator[Target]:
        assert workers is None
        with planted_target(tmp_path) as target:
            yield target

    result = run_capacity(settings, checklist=checklist, profile="quick", folder=folder, targets=targets,
                          load=LoadDriver(run_scenario, prompt_picker), say=print)

    assert CapacityResult.load_file(folder.capacity) == result
    low, high = result.bracket_rps
    assert low is not None and abs(low - CAPACITY) / CAPACITY <= 0.05, result.summary
    assert high is not None and high > CAPACITY * 0.97, "a failing rate well below the capacity"
    search = result.searches[0]
    assert search.converged and search.bracket_width <= 0.04 + 1e-9
    # The breaking rate, from every step: near the known limit, and its interval holds it.
    assert search.breaking is not None and result.breaking == search.breaking
    assert abs(search.breaking.estimate_rps - CAPACITY) / CAPACITY <= 0.05, search.breaking
    assert search.breaking.interval_rps[0] <= CAPACITY <= search.breaking.interval_rps[1]
    # The search measured its own throughput estimate (never capped below it).
    assert max(s.rate_rps for s in result.steps) >= search.seed_rps
    # Steps are independent: each one started with the target idle, and says how long that took.
    assert all(s.drained for s in result.steps)
    passing = [s for s in result.steps if s.outcome == StepOutcome.passed]
    assert passing and all(s.p99_s < checklist.slo_p99_s and s.p99_ci_s is not None for s in passing)
    for step in passing:
        # Little's law: what the target says it had in flight matches throughput x latency.
        assert step.in_flight_observed == pytest.approx(step.in_flight_little, rel=0.5, abs=0.5)
        assert step.achieved_rps == pytest.approx(step.rate_rps, rel=0.05)
    assert search.usl is not None and search.usl.r_squared > 0.8
    assert result.recommendation is not None
    # 100 req/s at 2x headroom over ~40 req/s per replica.
    assert result.recommendation.replicas in (5, 6)


@pytest.mark.integration
def test_drain_waits_for_a_backlog(tmp_path: Path) -> None:
    with planted_target(tmp_path) as target:
        url = target.endpoints.target_url
        client = TargetClient.of(target.endpoints)
        assert idle_level(client) == 0
        # 40 requests at once on 4 slots of 0.1 s: a backlog of about a second.
        burst = threading.Thread(target=_burst, args=(url, 40))
        burst.start()
        try:
            deadline = time.monotonic() + 5
            while (target_in_flight(client) or 0) < 10 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert (target_in_flight(client) or 0) >= 10, "the burst never queued"
            waited, drained, how = wait_drained(client, idle=0, timeout_s=30)
        finally:
            burst.join()
        assert drained and waited > 0, how
        assert target_in_flight(client) == 0


def _burst(url: str, n: int) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*(client.post(f"{url}/v1/agent/run", json={"input": "x"}) for _ in range(n)))
    asyncio.run(go())
