"""Streaming SLOs on the bundled service's real ``/v1/agent/stream`` (simulated LLM: 50 ms to the
first token, 10 ms a token), driven by the real runner and graded from the request log it wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.load import run_scenario
from harness.schemas import Endpoints, RunFolder, ScenarioPlan, Timeline
from harness.schemas.requests import read_request_log
from harness.schemas.verdict import ItemStatus
from harness.stack.redis import start_redis
from harness.stack.service import start_service
from tests.integration.load.conftest import checklist

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
KEY, ADMIN = "stream-key", "stream-admin"
STREAM_ITEMS = ("stream_ttft", "stream_itl", "stream_tokens_per_s", "stream_goodput")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("bundled")
    redis, redis_url = start_redis(work / "redis")
    try:
        sim = {"AGENT_SIM_TTFT_S": "0.05", "AGENT_SIM_PER_TOKEN_S": "0.01", "AGENT_LLM_TIMEOUT_S": "5"}
        service, url, _ = start_service(work / "service", redis_url=redis_url, api_keys=[KEY],
                                        admin_token=ADMIN, backend="simulated", extra_env=sim)
        try:
            yield url
        finally:
            service.stop()
    finally:
        redis.stop()


def test_streaming_slos_are_graded_on_the_bundled_stream(bundled: str, tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    plan = ScenarioPlan(warmup_s=0, steady_s=18, rate_x=1, stream_share=1.0, fresh_share=1.0)
    run_scenario("target_2x", checklist=checklist(target_2x=plan), profile="quick",
                 endpoints=Endpoints(target_url=bundled, prometheus_url="http://127.0.0.1:9", api_key=KEY,
                                     admin_token=ADMIN), run_folder=folder)
    log = read_request_log(folder.request_log("target_2x"))
    generated = log[~log.cached & ~log.degraded]  # a degraded (timed-out) answer streams no tokens
    assert len(generated) >= 100 and (generated.output_tokens == 32).all(), log.degraded.sum()
    shipped = load_checklist(ROOT / "checklist.yaml")
    ctx = GradeContext(checklist=shipped, profile="full", endpoints=None, prom=None, prom_error="none",
                       folder=folder, timeline=Timeline.load_file(folder.timeline))
    results = {i.id: grade_item(ctx, i, {}) for i in shipped.items if i.id in STREAM_ITEMS}
    summary = {k: (r.status, r.value, r.reason) for k, r in results.items()}
    assert {r.status for r in results.values()} == {ItemStatus.passed}, summary
    # At least what the simulated model takes (10 ms a token, 50 ms to the first): a busy machine can only
    # add to it; the upper side is the items' own limits (0.25 s, 2 s), which passed above.
    assert results["stream_itl"].value >= 0.009 and results["stream_ttft"].value >= 0.045, summary
    assert results["stream_goodput"].samples == len(log)
    assert results["stream_tokens_per_s"].evidence["total_tokens_per_s"] > 0
