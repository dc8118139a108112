"""Faults, timeouts, the circuit breaker, fallback answers, a Redis outage and the rate limit."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.service.conftest import KEYS, Service, metric

pytestmark = pytest.mark.integration


def _q() -> str:
    return f"search cluster timeouts under peak traffic {uuid.uuid4().hex[:8]}"


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.admin() as a:
        yield a
        a.delete("/admin/faults")


def _wait_breaker(admin: httpx.Client, state: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while admin.get("/admin/breaker").json()["state"] != state:
        assert time.monotonic() < deadline, f"breaker never became {state}"
        time.sleep(0.1)


def test_fault_admin_roundtrip_and_validation(service: Service, admin: httpx.Client) -> None:
    spec = {"llm_delay_s": 0.5, "llm_jitter_s": 0.1, "llm_error_rate": 0.0, "redis_down": False,
            "tool_delay_s": 0.25, "tool_error_rate": 0.0, "ttl_s": 60.0}  # a lease: it ends by itself
    assert admin.put("/admin/faults", json=spec).json() == spec
    assert admin.get("/admin/faults").json() == spec
    assert admin.put("/admin/faults", json={"llm_error_rate": 2}).status_code == 422
    assert admin.put("/admin/faults", json={"bogus": 1}).status_code == 422
    assert admin.delete("/admin/faults").json()["llm_delay_s"] == 0
    assert admin.get("/admin/faults").json()["llm_delay_s"] == 0


def test_llm_error_gives_a_degraded_fallback(service: Service, admin: httpx.Client) -> None:
    before = service.metrics()
    admin.put("/admin/faults", json={"llm_error_rate": 1.0})
    time.sleep(0.3)  # faults are re-read at most every 200 ms
    with service.client() as c:
        body = c.post("/v1/agent/run", json={"input": _q()}).json()
    assert body["degraded"] is True and body["degraded_reason"] == "llm_error"
    assert "search cluster" in body["answer"] and body["sources"]
    assert metric(service.metrics(), "agent_degraded_responses_total", reason="llm_error") == \
        metric(before, "agent_degraded_responses_total", reason="llm_error") + 1
    admin.delete("/admin/faults")
    time.sleep(0.3)
    with service.client() as c:  # one success resets the consecutive-failure count
        assert c.post("/v1/agent/run", json={"input": _q()}).json()["degraded"] is False


def _wait_fault(admin: httpx.Client, field: str, value: float, deadline_s: float = 30.0) -> None:
    """Until the service reads the fault back (it re-reads its fault file on a poll interval)."""
    deadline = time.monotonic() + deadline_s
    while admin.get("/admin/faults").json().get(field) != value:
        assert time.monotonic() < deadline, f"the service never applied {field}={value}"
        time.sleep(0.05)


def test_breaker_opens_under_slowness_and_closes_after(service: Service, admin: httpx.Client) -> None:
    before = service.metrics()
    admin.put("/admin/faults", json={"llm_delay_s": 10.0})
    _wait_fault(admin, "llm_delay_s", 10.0)

    async def burst(n: int) -> list[dict]:
        async with httpx.AsyncClient(base_url=service.url, timeout=30,
                                     headers={"Authorization": f"Bearer {KEYS[0]}"}) as c:
            rs = await asyncio.gather(*[c.post("/v1/agent/run", json={"input": _q()}) for _ in range(n)])
        return [r.json() for r in rs]

    # 5 slow calls each time out (1.5 s < 10 s): the 5th consecutive failure opens the breaker.
    timed_out = asyncio.run(burst(5))
    assert [b["degraded_reason"] for b in timed_out] == ["timeout"] * 5
    assert all(b["timings"]["total_ms"] < 10_000 for b in timed_out)  # cut by the timeout, not the delay
    assert admin.get("/admin/breaker").json()["state"] == "open"
    with service.client() as c:
        fast = c.post("/v1/agent/run", json={"input": _q()}).json()
    # Open: no LLM call at all (the histogram count below stays at 5), so far less than the timeout.
    assert fast["degraded_reason"] == "breaker_open" and fast["timings"]["llm_ms"] < 1500
    mid = service.metrics()
    assert metric(mid, "agent_circuit_breaker_state") == 2
    # The timed-out calls are in the LLM latency histogram, each at the ~1.5 s it took.
    llm = "llm_request_duration_seconds"
    assert metric(mid, f"{llm}_count") - metric(before, f"{llm}_count") == 5
    assert metric(mid, f"{llm}_sum") - metric(before, f"{llm}_sum") >= 5 * 1.45
    assert metric(mid, "agent_circuit_breaker_transitions_total", state="open") >= \
        metric(before, "agent_circuit_breaker_transitions_total", state="open") + 1

    admin.delete("/admin/faults")
    time.sleep(1.3)  # this service's reset timeout is 1 s: the next call is the half-open probe
    with service.client() as c:
        probe = c.post("/v1/agent/run", json={"input": _q()}).json()
    assert probe["degraded"] is False
    _wait_breaker(admin, "closed")
    after = service.metrics()
    assert metric(after, "agent_circuit_breaker_state") == 0
    for state in ("half-open", "closed"):
        assert metric(after, "agent_circuit_breaker_transitions_total", state=state) >= \
            metric(before, "agent_circuit_breaker_transitions_total", state=state) + 1


def test_redis_down_fault_keeps_answering(service: Service, admin: httpx.Client) -> None:
    before = metric(service.metrics(), "agent_cache_requests_total", result="error")
    admin.put("/admin/faults", json={"redis_down": True})
    time.sleep(0.3)
    q = _q()
    with service.client() as c:
        for _ in range(2):
            body = c.post("/v1/agent/run", json={"input": q, "max_tokens": 4}).json()
            assert body["cached"] is False and body["degraded"] is False
        assert c.get("/readyz").status_code == 503
    assert metric(service.metrics(), "agent_cache_requests_total", result="error") == before + 2


def test_redis_server_stopped_is_survived(service: Service) -> None:
    before = metric(service.metrics(), "agent_cache_requests_total", result="error")
    service.redis.stop()
    try:
        with service.client() as c:
            for _ in range(3):
                r = c.post("/v1/agent/run", json={"input": _q(), "max_tokens": 4})
                assert r.status_code == 200 and r.json()["cached"] is False
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["deps"]["redis"] == "down"
        assert metric(service.metrics(), "agent_cache_requests_total", result="error") >= before + 3
    finally:
        service.restart_redis()
    time.sleep(0.3)  # the service retries Redis 0.2 s after its last failure
    q = _q()
    with service.client() as c:
        c.post("/v1/agent/run", json={"input": q, "max_tokens": 4})
        assert c.post("/v1/agent/run", json={"input": q, "max_tokens": 4}).json()["cached"] is True
        assert c.get("/readyz").status_code == 200


def test_rate_limit_429_with_retry_after(service: Service) -> None:
    before = metric(service.metrics(), "agent_rate_limited_total", scope="key")

    async def burst() -> list[httpx.Response]:
        """Bursts of 500 until one is refused: a busy machine may serve a single burst slower than the
        key's 50/s refill (bounded: five bursts)."""
        async with httpx.AsyncClient(base_url=service.url, timeout=30,
                                     limits=httpx.Limits(max_connections=100),
                                     headers={"Authorization": f"Bearer {KEYS[2]}"}) as c:
            # One cached input: the burst measures the limiter, not the model.
            await c.post("/v1/agent/run", json={"input": "rate limit probe", "max_tokens": 2})
            sent: list[httpx.Response] = []
            for _ in range(5):
                sent += await asyncio.gather(*[
                    c.post("/v1/agent/run", json={"input": "rate limit probe", "max_tokens": 2})
                    for _ in range(500)])
                if any(r.status_code == 429 for r in sent):
                    break
            return sent

    responses = asyncio.run(burst())
    codes = [r.status_code for r in responses]
    limited = [r for r in responses if r.status_code == 429]
    assert set(codes) == {200, 429}, set(codes)
    assert limited and all(int(r.headers["retry-after"]) >= 1 for r in limited)
    assert metric(service.metrics(), "agent_rate_limited_total", scope="key") == before + len(limited)
    with service.client(KEYS[0]) as c:  # another key is unaffected
        assert c.post("/v1/agent/run", json={"input": "rate limit probe", "max_tokens": 2}).status_code == 200


def test_stream_ends_with_a_degraded_done_event_on_llm_error(service: Service, admin: httpx.Client) -> None:
    admin.put("/admin/faults", json={"llm_error_rate": 1.0})
    time.sleep(0.3)
    with service.client() as c, c.stream("POST", "/v1/agent/stream", json={"input": _q()}) as resp:
        assert resp.status_code == 200
        events = [e for e in resp.read().decode().split("\n\n") if e]
    assert events[-1].startswith("event: done\n")
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert done["degraded"] is True and done["degraded_reason"] == "llm_error" and done["sources"]
    admin.delete("/admin/faults")
    time.sleep(0.3)
    with service.client() as c:  # a success resets the breaker's failure count for later tests
        assert c.post("/v1/agent/run", json={"input": _q()}).json()["degraded"] is False
