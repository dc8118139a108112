"""Circuit breaker around the LLM: closed -> open after N consecutive failures -> half-open after a
reset timeout, where a few probe calls decide between closed and open again."""

from __future__ import annotations

import time
from enum import IntEnum

from target_service import metrics


class BreakerState(IntEnum):
    closed = 0  # calls pass; consecutive failures are counted
    half_open = 1  # reset timeout passed: up to half_open_max probe calls pass
    open = 2  # calls are refused until the reset timeout passes


class BreakerOpen(RuntimeError):
    pass


class CircuitBreaker:
    def __init__(self, failure_threshold: int, reset_s: float, half_open_max: int) -> None:
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self.half_open_max = half_open_max
        self.state = BreakerState.closed
        self.failures = 0
        self.opened_at = 0.0
        self._probes = 0
        metrics.BREAKER_STATE.set(0)

    def _move(self, state: BreakerState) -> None:
        if state != self.state:
            self.state = state
            metrics.BREAKER_STATE.set(int(state))
            metrics.BREAKER_TRANSITIONS.labels(state=state.name.replace("_", "-")).inc()

    def before_call(self) -> None:
        """Raises BreakerOpen when the call must not go to the LLM."""
        if self.state == BreakerState.open:
            if time.monotonic() - self.opened_at < self.reset_s:
                raise BreakerOpen("circuit breaker open")
            self._probes = 0
            self._move(BreakerState.half_open)
        if self.state == BreakerState.half_open:
            if self._probes >= self.half_open_max:
                raise BreakerOpen("circuit breaker half-open, probe in flight")
            self._probes += 1

    def record_success(self) -> None:
        self.failures = 0
        self._move(BreakerState.closed)

    def record_failure(self) -> None:
        self.failures += 1
        if self.state == BreakerState.half_open or self.failures >= self.failure_threshold:
            self.opened_at = time.monotonic()
            self._move(BreakerState.open)

    def snapshot(self) -> dict[str, object]:
        return {"state": self.state.name.replace("_", "-"), "consecutive_failures": self.failures,
                "failure_threshold": self.failure_threshold, "reset_s": self.reset_s,
                "open_for_s": round(time.monotonic() - self.opened_at, 3)
                if self.state == BreakerState.open else 0.0}
