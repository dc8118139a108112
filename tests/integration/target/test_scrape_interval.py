"""A Prometheus that scrapes every 3 s (users' run 15-30 s): windows, minimum points and gap
detection follow its real interval, read from its API, instead of assuming 1 s."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from harness.grade import grade_window, scrape_interval_s
from harness.ports import free_port
from harness.schemas.checklist import Checklist
from harness.schemas.verdict import ItemStatus
from harness.stack.prometheus import start_prometheus

pytestmark = pytest.mark.integration
INTERVAL_S = 3.0
WINDOW_S = 30.0


@pytest.fixture(scope="module")
def slow_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus scraping itself as the service's job: its own RSS is the memory series."""
    port = free_port()
    proc, url = start_prometheus(tmp_path_factory.mktemp("prom"), {"agent": f"127.0.0.1:{port}"}, port=port,
                                 rule_files=[], interval_s=INTERVAL_S)
    try:
        yield url
    finally:
        proc.stop()


def _checklist() -> Checklist:
    return Checklist.model_validate({
        "target_qps": 1, "default_profile": "quick", "profiles": {"quick": {"scenarios": {"target_2x": {}}}},
        "items": [{"id": "memory_stable", "title": "memory", "category": "performance", "severity": "blocker",
                   "kind": "metric", "measure": "memory_trend", "rationale": "test",
                   "threshold": {"op": "<", "value": 1e6, "unit": "MB/h"}}]})


def test_gaps_and_minimum_points_follow_the_real_interval(slow_prometheus: str) -> None:
    deadline = time.monotonic() + 120
    start = time.time()
    while time.monotonic() < deadline:  # a window's worth of scrapes
        answer = httpx.get(f"{slow_prometheus}/api/v1/query",
                           params={"query": f'count_over_time(up{{job="agent"}}[{WINDOW_S:g}s])'}).json()
        rows = answer["data"]["result"]
        scrapes = float(rows[0]["value"][1]) if rows else 0.0
        if scrapes >= WINDOW_S / INTERVAL_S - 1 and time.time() - start > WINDOW_S:
            break
        time.sleep(1)
    assert scrape_interval_s(slow_prometheus, "agent") == INTERVAL_S
    until = time.time() - 1
    verdict = grade_window(_checklist(), prometheus_url=slow_prometheus, since=until - WINDOW_S, until=until)
    item = verdict.items[0]
    # ~10 scrapes in 30 s: no gap at 3 s (at an assumed 1 s it would be 10 of 30), and fewer points
    # than the 20 a trend asks for at 1 s, yet enough for this interval.
    assert not [r for r in verdict.invalid_reasons if "scrape gap" in r], verdict.invalid_reasons
    assert item.status == ItemStatus.passed, item.reason
    assert item.samples is not None and 7 <= item.samples <= 12
