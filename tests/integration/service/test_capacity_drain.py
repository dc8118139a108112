"""Capacity steps start from a target at rest: the drain wait closes a breaker an overloaded step
opened (it would refuse the next step's first seconds), on the real service."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.capacity.concurrency_sweep import one_uncached_request
from harness.capacity.observe import wait_drained
from harness.schemas.run import Endpoints
from harness.target.client import TargetClient
from tests.integration.service.conftest import KEYS, Service, metric

pytestmark = pytest.mark.integration


def test_drain_wait_closes_an_open_breaker(service: Service) -> None:
    endpoints = Endpoints(target_url=service.url, prometheus_url="http://127.0.0.1:9", api_key=KEYS[0])
    with service.admin() as admin:
        admin.put("/admin/faults", json={"llm_error_rate": 1.0})
        time.sleep(0.3)  # faults are re-read at most every 200 ms
        for _ in range(5):  # five consecutive LLM failures open it
            one_uncached_request(endpoints)
        admin.delete("/admin/faults")
        time.sleep(0.3)
        assert admin.get("/admin/breaker").json()["state"] == "open"

    target = TargetClient.of(endpoints)
    with httpx.Client() as client:
        assert target.scrape(client)["agent_circuit_breaker_state"] == 2
    waited, drained, how = wait_drained(target, idle=1, timeout_s=20,
                                        nudge=lambda: one_uncached_request(endpoints))
    assert drained, how
    assert "breaker closed after" in how
    assert metric(service.metrics(), "agent_circuit_breaker_state") == 0
    # This service's reset timeout is 1 s: the nudges stop once it passed and one probe succeeded.
    assert waited >= 0.9


def test_drain_without_nudge_reports_the_open_breaker(service: Service) -> None:
    endpoints = Endpoints(target_url=service.url, prometheus_url="http://127.0.0.1:9", api_key=KEYS[0])
    with service.admin() as admin:
        admin.put("/admin/faults", json={"llm_error_rate": 1.0})
        time.sleep(0.3)
        for _ in range(5):
            one_uncached_request(endpoints)
        admin.delete("/admin/faults")
    target = TargetClient.of(endpoints)
    waited, drained, how = wait_drained(target, idle=1, timeout_s=2)
    assert not drained and how == "agent_circuit_breaker_state still 2 after 2 s"
    one_uncached_request(endpoints)  # past the 1 s reset: the half-open probe closes it for later tests
    time.sleep(0.2)
    wait_drained(target, idle=1, timeout_s=10, nudge=lambda: one_uncached_request(endpoints))
    assert metric(service.metrics(), "agent_circuit_breaker_state") == 0
