"""`loadgate proxy tcp` in front of a real redis-server: bytes pass, and each fault does what it says."""

from __future__ import annotations

import time

import httpx
import pytest
import redis

from tests.integration.proxy.conftest import TOKEN, set_fault

pytestmark = pytest.mark.integration


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0, retry_on_timeout=False)


def test_redis_through_the_proxy_and_each_fault(tcp_proxy):
    url, admin = tcp_proxy
    held = _client(url)
    assert held.set("k", "v") and held.get("k") == b"v"

    set_fault(admin, {"tcp": {"latency_s": 0.3}, "ttl_s": 30})
    start = time.monotonic()
    assert held.get("k") == b"v"
    assert time.monotonic() - start >= 0.6  # held once each way

    set_fault(admin, {"tcp": {"blackhole": True}, "ttl_s": 30})
    with pytest.raises(redis.TimeoutError):
        _client(url).ping()

    set_fault(admin, {"tcp": {"cut": True}, "ttl_s": 30})
    with pytest.raises(redis.ConnectionError):
        held.get("k")  # the open connection was cut...
    with pytest.raises(redis.ConnectionError):
        _client(url).ping()  # ...and new ones are refused while the fault lasts

    set_fault(admin, {"tcp": {"refuse": True}, "ttl_s": 0.5})
    with pytest.raises(redis.ConnectionError):
        _client(url).ping()
    deadline = time.monotonic() + 30
    while True:  # the lease ends by itself: connections pass again
        try:
            assert _client(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    counts = httpx.get(f"{admin}/_proxy/calls", headers=auth, timeout=5).json()
    assert counts["refused"] >= 2 and counts["cut"] >= 1
    metrics = httpx.get(f"{admin}/_proxy/metrics", timeout=5).text
    assert 'loadgate_proxy_tcp_connections_total{outcome="refused"}' in metrics
