"""Why the service fell back during a step, by its own counter: the bundled preset's
``agent_degraded_responses_total{reason}`` read from a real prometheus_client exposition on a
loopback port, and a step's rise per reason between two reads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from harness.capacity.step import _increase
from harness.ports import free_port
from harness.schemas.service import preset_profile
from harness.target.client import TargetClient, labelled_counts


@pytest.fixture
def served() -> Iterator[tuple[Counter, str]]:
    registry = CollectorRegistry()
    counter = Counter("agent_degraded_responses", "Fallback answers", ["reason"], registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield counter, f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        thread.join(5)


def test_the_bundled_services_fallbacks_by_reason_from_its_metrics(served: tuple[Counter, str]) -> None:
    counter, url = served
    client = TargetClient(preset_profile("bundled"), "http://127.0.0.1:9", metrics_url=url)
    with httpx.Client() as http:
        assert client.degraded_counts(http) == {}  # a labelled counter shows no series before its first
        counter.labels("timeout").inc(3)
        counter.labels("breaker_open").inc(40)
        before = client.degraded_counts(http)
        counter.labels("breaker_open").inc(200)
        counter.labels("timeout").inc(34)
        after = client.degraded_counts(http)
    assert before == {"timeout": 3.0, "breaker_open": 40.0}
    assert _increase(before, after) == {"breaker_open": 200, "timeout": 34}  # largest first


def test_no_counter_in_the_profile_or_no_metrics_reads_nothing(served: tuple[Counter, str]) -> None:
    counter, url = served
    counter.labels("timeout").inc()
    profile = preset_profile("seed-article")
    assert profile.metrics.degraded is None
    with httpx.Client() as http:
        assert TargetClient(profile, "http://127.0.0.1:9", metrics_url=url).degraded_counts(http) == {}
        gone = TargetClient(preset_profile("bundled"), "http://127.0.0.1:9", metrics_url="http://127.0.0.1:9/m")
        assert gone.degraded_counts(http) == {}  # unreadable metrics: nothing, not an exception


def test_labels_joined_and_an_unlabelled_counter_and_a_reset() -> None:
    text = ('# TYPE x counter\nx_total{a="1",b="p"} 2\nx_total{a="1",b="q"} 3\nx_created{a="1",b="p"} 9\n'
            '# TYPE y counter\ny_total 7\n')
    assert labelled_counts(text, "x_total") == {"1/p": 2.0, "1/q": 3.0}
    assert labelled_counts(text, "y") == {"all": 7.0}
    assert _increase({"timeout": 50.0}, {"timeout": 4.0, "breaker_open": 1.0}) == {"breaker_open": 1}
