"""Streaming SLOs graded on an OpenAI-compatible target (``python -m target_service.openai_server``,
simulated LLM): streamed chat completions read with the ``openai`` preset's stream reader
(``harness.target``), written as the request log, graded by the shipped checklist's stream items.
A server streaming a token every 0.3 s fails inter-token latency and goodput; one at 10 ms passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow, write_request_log
from harness.schemas.run import RunFolder
from harness.schemas.service import ServiceProfile
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus
from harness.target import requests as target_requests
from harness.target.presets import expand
from harness.target.responses import StreamReader
from tests.planted_services.launch import openai_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
KEY = "openai-stream-key"
STREAM_ITEMS = ("stream_ttft", "stream_itl", "stream_tokens_per_s", "stream_goodput")
REQUESTS, RATE, TOKENS = 80, 8.0, 8


def _server(workdir: Path, per_token_s: str) -> Iterator[str]:
    env = {"AGENT_SIM_TTFT_S": "0.05", "AGENT_SIM_PER_TOKEN_S": per_token_s, "AGENT_SIM_JITTER": "0.2"}
    with openai_server(workdir, KEY, env) as running:
        yield running.url


# The openai preset, with the model this server serves (as a user's `service:` override would say).
_BODY = {"model": "simulated", "messages": [{"role": "user", "content": "{prompt}"}],
         "max_tokens": "{max_tokens}"}
PROFILE = ServiceProfile.model_validate(expand({"preset": "openai", "requests": {"body": _BODY}}))


def _one(client: httpx.Client, intended: float, i: int) -> RequestRow:
    """One streamed chat completion at its intended start, read by the openai preset's reader."""
    spec = PROFILE
    time.sleep(max(intended - time.time(), 0))
    reader = StreamReader(spec.responses, intended)
    start, status = time.time(), 0
    try:
        body = target_requests.body(spec.requests, f"question {i}: how do caches fail?", max_tokens=TOKENS,
                                    stream=True)
        with client.stream("POST", target_requests.path(spec.requests, stream=True), json=body,
                           headers=target_requests.headers(spec.requests, KEY)) as response:
            status = response.status_code
            reader.headers(dict(response.headers))
            for line in response.iter_lines():
                reader.feed(line, time.time())
    except httpx.HTTPError:
        status = 0
    reading = reader.result()
    return RequestRow.measured(intended_start=intended, start=start, end=time.time(), status=status,
                               endpoint="/v1/chat/completions", phase="steady", cached=False, degraded=False,
                               ttft=reading.ttft, itl=reading.itl, outcome=classify(status, reading.done),
                               output_tokens=reading.tokens or reading.chunks)


def _graded(url: str, root: Path) -> dict[str, object]:
    t0 = time.time() + 0.5
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(16) as pool:
        rows = list(pool.map(lambda i: _one(client, t0 + i / RATE, i), range(REQUESTS)))
    folder = RunFolder(root).ensure()
    write_request_log(folder.request_log("target_2x"), rows)
    end = max(r.end for r in rows)
    run = ScenarioRun(name="target_2x", status=ScenarioStatus.completed, start=t0, end=end,
                      phases=[Phase(name="steady", start=t0, end=end)])
    Timeline(run_id="openai", scenarios=[run]).save_file(folder.timeline)
    shipped = load_checklist(ROOT / "checklist.yaml")
    ctx = GradeContext(checklist=shipped, profile="full", endpoints=None, prom=None, prom_error="none",
                       folder=folder, timeline=Timeline.load_file(folder.timeline))
    return {i.id: grade_item(ctx, i, {}) for i in shipped.items if i.id in STREAM_ITEMS}


@pytest.fixture
def fast_server(tmp_path: Path) -> Iterator[str]:
    yield from _server(tmp_path, "0.01")


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[str]:
    yield from _server(tmp_path, "0.3")


def test_a_healthy_openai_target_meets_its_streaming_slos(fast_server: str, tmp_path: Path) -> None:
    results = _graded(fast_server, tmp_path / "run")
    summary = {k: (r.status, r.value, r.reason) for k, r in results.items()}
    assert {r.status for r in results.values()} == {ItemStatus.passed}, summary
    assert results["stream_goodput"].samples == REQUESTS
    assert results["stream_itl"].value >= 0.009, summary  # 10 ms a token or more; the limit passed above
    # usage in the last chunk: every answer counted its tokens as the server reported them
    assert results["stream_tokens_per_s"].evidence["total_output_tokens"] == REQUESTS * TOKENS


def test_slow_tokens_fail_inter_token_latency_and_goodput(slow_server: str, tmp_path: Path) -> None:
    results = _graded(slow_server, tmp_path / "run")
    summary = {k: (r.status, r.value, r.reason) for k, r in results.items()}
    assert results["stream_itl"].status == ItemStatus.failed and results["stream_itl"].value > 0.25, summary
    assert results["stream_goodput"].status == ItemStatus.failed and results["stream_goodput"].value < 0.5
    assert results["stream_ttft"].status == ItemStatus.passed  # the first token still comes quickly
