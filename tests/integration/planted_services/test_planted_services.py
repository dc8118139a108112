"""The planted services of tests/planted_services: each answers like a healthy agent, plants its faults
exactly every n-th request, and exposes the metrics of its library's own style, untouched by loadgate."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.planted_services.launch import REPO, STYLES, Running, start_style

pytestmark = pytest.mark.integration

PACKAGE = REPO / "tests" / "planted_services"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_planted_services_import_nothing_of_loadgate(path: Path) -> None:
    assert not _imported_roots(path) & {"harness", "target_service", "scenarios"}


def _samples(metrics_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(metrics_url, timeout=5).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert found, f"no {name}{labels} in the metrics"
    return sum(found)


@pytest.fixture(scope="module", params=sorted(set(STYLES) - {"bundled"}))
def faulty(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, list[int], int]]:
    """Every 4th request answers 500, every 5th takes 0.3 s longer; 20 requests and one bad one sent."""
    service = start_style(request.param, tmp_path_factory.mktemp(request.param), "--error-share", "0.25",
                          "--slow-share", "0.2", "--slow-s", "0.3")
    try:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            statuses = [client.post(service.run_path, json={"input": f"q{i}"}).status_code for i in range(20)]
            bad = client.post(service.run_path, json={"prompt": "no input field"}).status_code
        yield service, statuses, bad
    finally:
        service.stop()


def test_faults_land_on_every_nth_request(faulty: tuple[Running, list[int], int]) -> None:
    _, statuses, bad = faulty
    assert statuses == [500 if n % 4 == 0 else 200 for n in range(1, 21)]
    assert bad == 422  # a bad request is the client's error, never a 5xx


def test_metrics_are_in_the_style_of_the_library(faulty: tuple[Running, list[int], int]) -> None:
    service = faulty[0]
    samples = _samples(service.metrics_url)
    assert _value(samples, "process_resident_memory_bytes") > 0
    style = service.style
    if style == "seed_article":
        # The article's labels: endpoint is the handler's name; status success|error; latency unlabeled.
        assert _value(samples, "agent_requests_total", endpoint="run_agent", status="error") == 5
        assert _value(samples, "agent_requests_total", endpoint="run_agent", status="success") == 15
        assert _value(samples, "agent_request_duration_seconds_count") == 20
        slow = 20 - _value(samples, "agent_request_duration_seconds_bucket", le="0.25")
        assert not any(ls for (n, ls) in samples if n == "agent_request_duration_seconds_count")
    elif style == "instrumentator":
        assert _value(samples, "http_requests_total", handler="/v1/agent/run", status="5xx") == 5
        assert _value(samples, "http_requests_total", handler="/v1/agent/run", status="2xx") == 15
        assert _value(samples, "http_requests_total", handler="/v1/agent/run", status="4xx") == 1
        handler = {"handler": "/v1/agent/run"}
        count = _value(samples, "http_request_duration_seconds_count", **handler)
        slow = count - _value(samples, "http_request_duration_seconds_bucket", le="0.1", **handler)
        assert _value(samples, "http_request_duration_highr_seconds_count") >= 21  # unlabeled: every path
    else:
        name = "http_server_request_duration_seconds"
        route = {"http_route": "/v1/agent/run"}
        assert _value(samples, f"{name}_count", http_response_status_code="500", **route) == 5
        assert _value(samples, f"{name}_count", http_response_status_code="200", **route) == 15
        count = _value(samples, f"{name}_count", **route)
        slow = count - _value(samples, f"{name}_bucket", le="0.25", **route)
    # The 4 slow requests (every 5th) took >= 0.3 s, so at least 4 observations lie above 0.25 s.
    assert slow >= 4
