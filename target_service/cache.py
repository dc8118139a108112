"""Redis response cache through one connection pool. Redis trouble never fails a request: the
answer is computed uncached and the lookup is counted as ``result="error"``."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from target_service import metrics
from target_service.faults import FaultStore


class CacheUnavailable(RuntimeError):
    pass


# A Redis that is down, refused or cut. uvloop raises RuntimeError ("the handler is closed") when
# redis-py writes to a connection the peer has reset mid-use: found by cutting connections on the
# wire (loadgate proxy tcp), which the redis_down flag never exercised.
_UNAVAILABLE = (RedisError, OSError, RuntimeError, CacheUnavailable)


def cache_key(key_id: str, text: str, max_tokens: int) -> str:
    # The key id is inside the hash: one key's cached answers are never served to another key.
    normalized = " ".join(text.lower().split())
    digest = hashlib.sha256(f"{key_id}\x00{max_tokens}\x00{normalized}".encode()).hexdigest()
    return f"agent:answer:v1:{digest}"


class ResponseCache:
    def __init__(self, url: str, ttl_s: int, max_connections: int, timeout_s: float, retry_after_s: float,
                 faults: FaultStore) -> None:
        self._pool = aioredis.ConnectionPool.from_url(url, max_connections=max_connections,
                                                       socket_timeout=timeout_s,
                                                       socket_connect_timeout=timeout_s)
        self._redis = aioredis.Redis(connection_pool=self._pool)
        self._ttl = ttl_s
        self._retry_after = retry_after_s
        self._faults = faults
        self._down_until = 0.0

    @property
    def redis(self) -> aioredis.Redis:
        """The pooled client, shared with the session store."""
        return self._redis

    def check_up(self) -> None:
        """CacheUnavailable while Redis is faulted down or failed within ``retry_after_s``."""
        if self._faults.current().redis_down:
            raise CacheUnavailable("redis_down fault injected")
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("redis failed recently; not retried yet")

    def _failed(self) -> None:
        self._down_until = time.monotonic() + self._retry_after

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            self.check_up()
            raw = await self._redis.get(key)
        except _UNAVAILABLE as exc:
            if not isinstance(exc, CacheUnavailable):
                self._failed()
            metrics.CACHE_REQUESTS.labels(result="error").inc()
            return None
        metrics.CACHE_REQUESTS.labels(result="hit" if raw is not None else "miss").inc()
        return orjson.loads(raw) if raw is not None else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        try:
            self.check_up()
            await self._redis.set(key, orjson.dumps(value), ex=self._ttl)
        except _UNAVAILABLE as exc:
            if not isinstance(exc, CacheUnavailable):
                self._failed()

    async def ping(self) -> bool:
        try:
            self.check_up()
            return bool(await self._redis.ping())
        except _UNAVAILABLE:
            return False

    async def close(self) -> None:
        await self._redis.aclose()
        await self._pool.aclose()
