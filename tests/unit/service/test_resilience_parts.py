"""The circuit breaker's state machine and the token buckets, on their own."""

from __future__ import annotations

import time

import pytest

from target_service.ratelimit import RateLimiter, TokenBucket
from target_service.resilience import BreakerOpen, BreakerState, CircuitBreaker


def test_breaker_opens_after_threshold_then_half_opens_and_closes() -> None:
    b = CircuitBreaker(failure_threshold=3, reset_s=0.05, half_open_max=1)
    for _ in range(2):
        b.before_call()
        b.record_failure()
    assert b.state is BreakerState.closed
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.open
    with pytest.raises(BreakerOpen):
        b.before_call()
    time.sleep(0.06)
    b.before_call()  # the probe
    assert b.state is BreakerState.half_open
    with pytest.raises(BreakerOpen):
        b.before_call()  # only one probe at a time
    b.record_success()
    assert b.state is BreakerState.closed and b.failures == 0


def test_failed_probe_reopens() -> None:
    b = CircuitBreaker(failure_threshold=1, reset_s=0.01, half_open_max=1)
    b.before_call()
    b.record_failure()
    time.sleep(0.02)
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.open


def test_success_resets_the_failure_count() -> None:
    b = CircuitBreaker(failure_threshold=2, reset_s=1, half_open_max=1)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.closed


def test_bucket_allows_burst_then_refuses_with_wait() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    assert all(bucket.take() == 0 for _ in range(5))
    wait = bucket.take()
    assert 0 < wait <= 0.1 + 1e-6


def test_limiter_scopes_and_retry_after() -> None:
    limiter = RateLimiter(key_rate=1, key_burst=2, global_rate=1000, global_burst=3)
    assert limiter.check("a") is None and limiter.check("a") is None
    assert limiter.check("a") == ("key", 1)
    assert limiter.check("b") is None
    assert limiter.check("c") == ("global", 1)  # 3 global tokens spent: a, a, b


def test_limiter_splits_over_workers() -> None:
    limiter = RateLimiter(key_rate=100, key_burst=10, global_rate=1000, global_burst=1000, workers=2)
    allowed = sum(limiter.check("k") is None for _ in range(20))
    assert allowed == 5
