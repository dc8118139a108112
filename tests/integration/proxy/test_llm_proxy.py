"""`loadgate proxy llm` in front of a loopback OpenAI-compatible upstream: faithful when no fault is
set, each fault as specified, leases that expire, metrics, and no secret in its log."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.integration.proxy.conftest import TOKEN, set_fault

pytestmark = pytest.mark.integration
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6}
STREAM = {**CHAT, "stream": True}
EMBED = {"model": "e", "input": "x"}


def _stream_times(url: str, body: dict = STREAM) -> tuple[float, list[float], list[str]]:
    """(TTFT, gaps between data events, data payloads) of one streamed chat completion."""
    start = time.monotonic()
    arrivals, payloads = [], []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic())
                payloads.append(line[5:].strip())
    return arrivals[0] - start, [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)], payloads


def test_forwards_every_route_unchanged(llm_proxy, upstream_url):
    proxy, _ = llm_proxy
    for method, path, body in (("GET", "/v1/models", None), ("POST", "/v1/embeddings", EMBED),
                               ("POST", "/v1/chat/completions", CHAT), ("POST", "/v1/completions", CHAT)):
        direct = httpx.request(method, f"{upstream_url}{path}", json=body, timeout=10)
        proxied = httpx.request(method, f"{proxy}{path}", json=body, timeout=10)
        assert (proxied.status_code, proxied.json()) == (direct.status_code, direct.json()), path
    assert _stream_times(proxy)[2] == _stream_times(upstream_url)[2]


def test_admin_api_needs_the_token(llm_proxy):
    proxy, _ = llm_proxy
    lease = {"llm": {"error_rate": 1.0}, "ttl_s": 30}
    assert set_fault(proxy, lease, token="wrong").status_code == 401
    assert httpx.get(f"{proxy}/_proxy/fault", timeout=5).status_code == 401
    assert httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, timeout=10).status_code == 200
    assert set_fault(proxy, {"tcp": {"refuse": True}}).status_code == 422  # wrong kind for this proxy


@pytest.mark.parametrize("status", [429, 503, 500])
def test_error_fault_answers_the_status(llm_proxy, status):
    proxy, _ = llm_proxy
    assert set_fault(proxy, {"llm": {"error_rate": 1.0, "error_status": status, "retry_after_s": 7},
                             "ttl_s": 30}).status_code == 200
    r = httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, timeout=10)
    assert r.status_code == status
    assert r.headers.get("retry-after") == ("7" if status in (429, 503) else None)


def test_fault_applies_only_to_its_routes(llm_proxy):
    proxy, _ = llm_proxy
    set_fault(proxy, {"llm": {"error_rate": 1.0, "routes": ["/v1/chat/"]}, "ttl_s": 30})
    assert httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, timeout=10).status_code == 500
    assert httpx.post(f"{proxy}/v1/embeddings", json=EMBED, timeout=10).status_code == 200


def test_hang_lasts_until_the_client_gives_up(llm_proxy):
    proxy, _ = llm_proxy
    set_fault(proxy, {"llm": {"hang": True}, "ttl_s": 30})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, timeout=httpx.Timeout(1.0, connect=5))


def test_disconnect_in_mid_stream(llm_proxy):
    proxy, _ = llm_proxy
    set_fault(proxy, {"llm": {"disconnect_after_chunks": 2}, "ttl_s": 30})
    got = []
    with pytest.raises(httpx.RemoteProtocolError), \
            httpx.stream("POST", f"{proxy}/v1/chat/completions", json=STREAM, timeout=10) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                got.append(line)
    assert len(got) == 2


def test_streamed_ttft_and_gaps_are_at_least_the_injected_delays(proxy_to_openai_server):
    """Against the project's OpenAI-compatible server: what the client sees is at least what was injected."""
    proxy = proxy_to_openai_server
    body = {**STREAM, "model": "simulated"}
    _, calm_gaps, _ = _stream_times(proxy, body)
    set_fault(proxy, {"llm": {"first_byte_delay_s": 0.5, "chunk_delay_s": 0.05}, "ttl_s": 60})
    ttft, gaps, payloads = _stream_times(proxy, body)
    assert ttft >= 0.5
    assert len(gaps) == len(calm_gaps) >= CHAT["max_tokens"]  # every event passed, each one delayed
    # Inter-token latency as the load generator measures it (the mean gap): one late read on the
    # client can shorten the gap after it, never the time from the first event to the last.
    assert sum(gaps) / len(gaps) >= 0.05
    assert payloads[-1] == "[DONE]"


def test_a_lease_expires_by_itself_and_a_delete_clears(llm_proxy):
    proxy, _ = llm_proxy
    auth = {"Authorization": f"Bearer {TOKEN}"}
    set_fault(proxy, {"llm": {"error_rate": 1.0}, "ttl_s": 0.5})
    deadline = time.monotonic() + 30
    while (state := httpx.get(f"{proxy}/_proxy/fault", headers=auth, timeout=5).json())["lease"] is not None:
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["last_end"] == "expired"
    assert httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, timeout=10).status_code == 200
    set_fault(proxy, {"llm": {"error_rate": 1.0}, "ttl_s": 60})
    assert httpx.delete(f"{proxy}/_proxy/fault", headers=auth, timeout=5).json()["last_end"] == "cleared"


def test_metrics_and_calls_count_what_was_forwarded_and_the_log_holds_no_secret(llm_proxy):
    proxy, proc = llm_proxy
    since = time.time()
    secret = "sk-do-not-log-4242"
    for _ in range(3):
        httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {secret}"},
                   timeout=10)
    set_fault(proxy, {"llm": {"error_rate": 1.0, "error_status": 503}, "ttl_s": 30})
    httpx.post(f"{proxy}/v1/chat/completions", json=CHAT, timeout=10)
    text = httpx.get(f"{proxy}/_proxy/metrics", timeout=5).text
    assert 'loadgate_proxy_upstream_calls_total{route="/v1/chat/completions"} 3.0' in text
    assert 'loadgate_proxy_faults_applied_total{fault="error_503",route="/v1/chat/completions"} 1.0' in text
    calls = httpx.get(f"{proxy}/_proxy/calls", params={"since": since}, timeout=5,
                      headers={"Authorization": f"Bearer {TOKEN}"}).json()["llm_calls"]
    assert len(calls) == 4 and all(t >= since for t in calls)  # the faulted call was made too
    log = proc.log_path.read_text()
    assert secret not in log and TOKEN not in log
    assert json.loads(httpx.get(f"{proxy}/_proxy/healthz", timeout=5).text)["kind"] == "llm"
