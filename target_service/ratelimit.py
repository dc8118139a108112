"""Token buckets: one per API key and one global, per worker process.

Each worker enforces 1/workers of the configured rate and burst, so the service as a whole holds
the configured numbers when the kernel spreads connections evenly over the workers.
"""

from __future__ import annotations

import math
import time


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> float:
        """Takes one token; returns 0 on success, else seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, key_rate: float, key_burst: float, global_rate: float, global_burst: float,
                 workers: int = 1) -> None:
        self._key_rate, self._key_burst = key_rate / workers, max(1.0, key_burst / workers)
        self._global = TokenBucket(global_rate / workers, max(1.0, global_burst / workers))
        self._keys: dict[str, TokenBucket] = {}

    def check(self, key_id: str) -> tuple[str, int] | None:
        """None when allowed, else (scope, Retry-After seconds)."""
        bucket = self._keys.get(key_id)
        if bucket is None:
            bucket = self._keys[key_id] = TokenBucket(self._key_rate, self._key_burst)
        wait = bucket.take()
        if wait:
            return "key", max(1, math.ceil(wait))
        wait = self._global.take()
        if wait:
            bucket.tokens += 1  # refused globally: give the key its token back
            return "global", max(1, math.ceil(wait))
        return None
