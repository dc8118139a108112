"""One-shot snapshots: Redis INFO and the service's top allocation sites (GPU memory: ``gpu.py``). Each
returns a record (errors included) and never raises into the run."""

from __future__ import annotations

import time

import httpx
import redis

from harness.schemas.diagnostics import AllocationSite, MemorySnapshot, RedisSnapshot
from harness.target.client import TargetClient

_REDIS_INT_FIELDS = (
    "connected_clients",
    "blocked_clients",
    "maxclients",
    "rejected_connections",
    "total_connections_received",
    "used_memory",
    "maxmemory",
    "evicted_keys",
    "keyspace_hits",
    "keyspace_misses",
)


def redis_snapshot(client: redis.Redis) -> RedisSnapshot:
    t, start = time.time(), time.perf_counter()
    try:
        info = client.info()
    except redis.RedisError as exc:
        return RedisSnapshot(t=t, cost_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    cost = time.perf_counter() - start
    fields = {name: int(info[name]) for name in _REDIS_INT_FIELDS if name in info}
    hits, misses = fields.get("keyspace_hits", 0), fields.get("keyspace_misses", 0)
    return RedisSnapshot(
        t=t, cost_s=cost, hit_rate=hits / (hits + misses) if hits + misses else None, **fields
    )


def memory_sites(target: TargetClient, label: str, top: int = 20) -> MemorySnapshot:
    """The admin API's memory endpoint (the bundled service's ``GET /admin/memory``: tracemalloc's
    top sites; 409 when it is off)."""
    t, start = time.time(), time.perf_counter()
    try:
        response = target.memory_sites(top)
    except httpx.HTTPError as exc:
        return MemorySnapshot(
            t=t, label=label, cost_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}"
        )
    cost = time.perf_counter() - start
    if response.status_code != 200:
        detail = response.text[:200].strip()
        error = f"{response.url.path} answered {response.status_code}: {detail}"
        return MemorySnapshot(t=t, label=label, cost_s=cost, error=error)
    body = response.json()
    return MemorySnapshot(
        t=t,
        label=label,
        cost_s=cost,
        traced_bytes=body.get("traced_bytes"),
        peak_bytes=body.get("peak_bytes"),
        top=[AllocationSite.model_validate(site) for site in body.get("top", [])],
    )
