"""A rate-limit burst that could not exceed the service's own throughput proves nothing: no-data with
that reason; a burst well above the run's load that still gets no 429 is a failed limiter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from grade_planted import KEYS, REPO, start_planted

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.schemas.checklist import Profile, ScenarioPlan
from harness.schemas.run import Endpoints
from harness.schemas.verdict import ItemStatus

pytestmark = pytest.mark.integration


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[callable]:
    procs = []

    def start(*args: str) -> str:
        proc, port = start_planted(f"p{len(procs)}", list(args), tmp_path)
        procs.append(proc)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.stop()


def _grade_burst(url: str, burst: int, concurrency: int, target_qps: int = 25):  # noqa: ANN202 - an ItemResult
    shipped = load_checklist(REPO / "checklist.yaml")
    item = next(i for i in shipped.items if i.id == "rate_limiting")
    item = item.model_copy(update={"params": {"burst": burst, "concurrency": concurrency}})
    # The run's load: 2 x target_qps (50 req/s by default).
    checklist = shipped.model_copy(update={
        "target_qps": target_qps, "items": [item],
        "profiles": {"quick": Profile(scenarios={"target_2x": ScenarioPlan(steady_s=10, rate_x=2)})}})
    ctx = GradeContext(checklist=checklist, profile="quick", prom=None,
                       endpoints=Endpoints(target_url=url, prometheus_url="http://127.0.0.1:9",
                                           api_key=KEYS[0], api_key_2=KEYS[1]))
    return grade_item(ctx, item, {})


def test_a_burst_slower_than_the_runs_own_load_is_no_data_saying_why(planted) -> None:
    # One request at a time, 50 ms each: the service answers at most ~20 req/s, under the 50 of the load.
    url = planted("--no-rate-limit", "--max-concurrency", "1", "--service-time-s", "0.05")
    result = _grade_burst(url, burst=60, concurrency=8)
    assert result.status == ItemStatus.no_data, result.reason
    assert "never exceeded the service's own throughput" in result.reason
    assert "50 req/s of this run's own load" in result.reason
    assert result.evidence["burst_rps"] <= 1.1 * 50


def test_a_fast_burst_without_any_429_fails(planted) -> None:
    url = planted("--no-rate-limit")
    # A light run (20 req/s): the burst must beat 22 req/s, which a busy machine's planted service
    # still does many times over (the grade, not the machine's speed, is under test).
    result = _grade_burst(url, burst=400, concurrency=32, target_qps=10)
    assert result.evidence["burst_rps"] > 1.1 * 20, "the planted service answers far faster than 22 req/s"
    assert result.status == ItemStatus.failed and "got no 429" in result.reason
