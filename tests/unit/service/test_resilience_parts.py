"""The circuit breaker's state machine and the token buckets, on their own."""

from __future__ import annotations

import pytest

from target_service import ratelimit, resilience
from target_service.ratelimit import RateLimiter, TokenBucket
from target_service.resilience import BreakerOpen, BreakerState, CircuitBreaker

# Every test here runs on a fake clock (tests/conftest.py): a busy machine cannot half-open a breaker
# or refill a bucket between two lines.


def test_breaker_opens_after_threshold_then_half_opens_and_closes(fake_clock) -> None:
    clock = fake_clock(resilience)
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
    clock.advance(0.049)
    with pytest.raises(BreakerOpen):
        b.before_call()  # still open just before reset_s
    clock.advance(0.001)
    b.before_call()  # the probe
    assert b.state is BreakerState.half_open
    with pytest.raises(BreakerOpen):
        b.before_call()  # only one probe at a time
    b.record_success()
    assert b.state is BreakerState.closed and b.failures == 0


def test_failed_probe_reopens(fake_clock) -> None:
    clock = fake_clock(resilience)
    b = CircuitBreaker(failure_threshold=1, reset_s=0.01, half_open_max=1)
    b.before_call()
    b.record_failure()
    clock.advance(0.02)
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.open


def test_success_resets_the_failure_count() -> None:
    b = CircuitBreaker(failure_threshold=2, reset_s=1, half_open_max=1)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.closed


def test_bucket_allows_burst_then_refuses_with_wait(fake_clock) -> None:
    clock = fake_clock(ratelimit)
    bucket = TokenBucket(rate=10, burst=5)
    assert all(bucket.take() == 0 for _ in range(5))
    assert bucket.take() == pytest.approx(0.1)
    clock.advance(0.05)
    assert bucket.take() == pytest.approx(0.05)  # half a token refilled
    clock.advance(0.05)
    assert bucket.take() == 0


def test_limiter_scopes_and_retry_after(fake_clock) -> None:
    fake_clock(ratelimit)
    limiter = RateLimiter(key_rate=1, key_burst=2, global_rate=1000, global_burst=3)
    assert limiter.check("a") is None and limiter.check("a") is None
    assert limiter.check("a") == ("key", 1)
    assert limiter.check("b") is None
    assert limiter.check("c") == ("global", 1)  # 3 global tokens spent: a, a, b


def test_limiter_splits_over_workers(fake_clock) -> None:
    fake_clock(ratelimit)
    limiter = RateLimiter(key_rate=100, key_burst=10, global_rate=1000, global_burst=1000, workers=2)
    allowed = sum(limiter.check("k") is None for _ in range(20))
    assert allowed == 5
