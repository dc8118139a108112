"""The bundled agent as an agent: conversation memory per session in Redis, and its tool loop
(retrieval, calculator, an external API with its own timeout, fallback and fault knob)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from target_service.sessions import SessionStore
from tests.integration.service.conftest import KEYS, Service, metric

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.admin() as a:
        yield a
        a.delete("/admin/faults")


def _turn(client: httpx.Client, session: str, text: str, **extra: object) -> dict:
    payload = {"input": text, "session_id": session, "memory": True, **extra}
    response = client.post("/v1/agent/run", json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def _tools(body: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in body["tool_calls"]}


def test_a_session_counts_its_turns_keeps_a_bounded_history_and_misses_the_cache(service: Service) -> None:
    session = uuid.uuid4().hex
    with service.client() as client:
        bodies = [_turn(client, session, "How do I configure request timeouts?") for _ in range(10)]
    assert [b["turn"] for b in bodies] == list(range(1, 11))
    assert all(b["session_id"] == session and b["memory"] == "ok" for b in bodies)
    # The same question again: turn 1 may come from the cache, later turns carry history and cannot.
    assert not any(b["cached"] for b in bodies[1:])
    assert all(_tools(b).get("retrieval") == "ok" for b in bodies[1:])
    turns_key, count_key = SessionStore._keys("key-0", session)  # noqa: SLF001 - the storage contract
    store = redis.Redis.from_url(service.redis_url)
    keys = [k.decode() for k in store.keys("agent:session:v1:*")]
    ours = [k for k in keys if k.endswith(":turns") and int(store.get(k[:-6] + ":count") or 0) == 10]
    assert len(ours) == 1, keys
    assert store.llen(ours[0]) == 8  # AGENT_SESSION_MAX_TURNS default: bounded history
    assert 0 < store.ttl(ours[0]) <= 1800
    assert turns_key.endswith(":turns") and count_key.endswith(":count")


def test_a_first_turn_answered_from_the_cache_still_starts_the_conversation(service: Service) -> None:
    """A cached first turn is remembered too: otherwise the next turn is turn 1 again, with no
    history, and is itself answered from the cache (a quick gate once saw 70% of later turns cached)."""
    question = f"What does a circuit breaker protect? {uuid.uuid4().hex[:6]}"
    with service.client() as client:
        assert client.post("/v1/agent/run", json={"input": question}).status_code == 200  # warms the cache
        session = uuid.uuid4().hex
        first, second = _turn(client, session, question), _turn(client, session, question)
    assert first["cached"] and first["turn"] == 1
    assert second["turn"] == 2 and not second["cached"] and _tools(second).get("retrieval") == "ok"


def test_sessions_are_separate_per_session_and_per_key(service: Service) -> None:
    session = uuid.uuid4().hex
    with service.client() as one, service.client(KEYS[1]) as two:
        _turn(one, session, "How do I benchmark the vector index?")
        assert _turn(one, session, "And in production?")["turn"] == 2
        assert _turn(two, session, "And in production?")["turn"] == 1  # another key, another conversation
        assert _turn(one, uuid.uuid4().hex, "And in production?")["turn"] == 1


def test_a_request_without_memory_answers_as_before(service: Service) -> None:
    with service.client() as client:
        body = client.post("/v1/agent/run", json={"input": "How do I debug Prometheus alerts?",
                                                  "session_id": "plain"}).json()
    assert body["turn"] is None and body["session_id"] is None and body["memory"] is None
    assert not body["degraded"]


def test_the_calculator_answers_arithmetic(service: Service) -> None:
    with service.client() as client:
        body = client.post("/v1/agent/run", json={"input": f"What is 12 * 7 + 1? ({uuid.uuid4().hex})"})
    body = body.json()
    assert _tools(body) == {"retrieval": "ok", "calculator": "ok"}
    assert all(c["latency_ms"] >= 0 for c in body["tool_calls"])


def test_a_slow_external_api_is_cut_by_its_timeout_and_the_answer_is_degraded(
    service: Service, admin: httpx.Client
) -> None:
    before = metric(service.metrics(), "agent_tool_calls_total", tool="external_api", status="timeout")
    # A delay far beyond the tool's 0.5 s timeout: a call that was cut cannot have taken it, however
    # busy the machine (a 3 s delay left 2.5 s of margin, which a stalled event loop can eat).
    assert admin.put("/admin/faults", json={"tool_delay_s": 20.0}).status_code == 200
    time.sleep(0.5)  # past faults_poll_s: the next request re-reads the fault file
    with service.client() as client:
        body = client.post("/v1/agent/run", json={"input": f"Look up order {uuid.uuid4().hex}"}).json()
    external = next(c for c in body["tool_calls"] if c["name"] == "external_api")
    assert external["status"] == "timeout" and external["latency_ms"] < 20_000  # cut, not waited out
    # Degraded for the tool; an LLM that also timed out on a busy machine names itself instead.
    assert body["degraded"] and body["degraded_reason"] in ("tool_timeout", "timeout")
    after = metric(service.metrics(), "agent_tool_calls_total", tool="external_api", status="timeout")
    assert after == before + 1
    assert metric(service.metrics(), "agent_tool_duration_seconds_count", tool="external_api") >= 1


def test_a_failing_external_api_falls_back(service: Service, admin: httpx.Client) -> None:
    admin.put("/admin/faults", json={"tool_error_rate": 1.0})
    time.sleep(0.5)
    with service.client() as client:
        question = f"What is the status of ticket {uuid.uuid4().hex}?"
        body = client.post("/v1/agent/run", json={"input": question}).json()
    assert _tools(body)["external_api"] == "error"
    assert body["degraded"] and body["degraded_reason"] in ("tool_error", "timeout") and body["answer"]


def test_the_turn_index_histogram_counts_memory_turns(service: Service) -> None:
    before = metric(service.metrics(), "agent_session_turn_index_count")
    with service.client() as client:
        session = uuid.uuid4().hex
        for _ in range(3):
            _turn(client, session, "Give me a checklist to scale the LLM gateway.")
    text = service.metrics()
    assert metric(text, "agent_session_turn_index_count") == before + 3
    assert metric(text, "agent_session_turn_index_bucket", le="2.0") >= 2
