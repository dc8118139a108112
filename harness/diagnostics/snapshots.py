"""One-shot snapshots: Redis INFO and the service's top allocation sites (GPU memory: ``gpu.py``). Each
returns a record (errors included) and never raises into the run."""

from __future__ import annotations

import time

import httpx
import redis

from harness.schemas.diagnostics import AllocationSite, MemorySnapshot, RedisSnapshot

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


def memory_sites(target_url: str, admin_token: str | None, label: str, top: int = 20) -> MemorySnapshot:
    """The reference service's ``GET /admin/memory`` (tracemalloc's top sites; 409 when it is off)."""
    t, start = time.time(), time.perf_counter()
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    try:
        response = httpx.get(
            f"{target_url.rstrip('/')}/admin/memory", params={"top": top}, headers=headers, timeout=30.0
        )
    except httpx.HTTPError as exc:
        return MemorySnapshot(
            t=t, label=label, cost_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}"
        )
    cost = time.perf_counter() - start
    if response.status_code != 200:
        detail = response.text[:200].strip()
        return MemorySnapshot(
            t=t, label=label, cost_s=cost, error=f"/admin/memory answered {response.status_code}: {detail}"
        )
    body = response.json()
    return MemorySnapshot(
        t=t,
        label=label,
        cost_s=cost,
        traced_bytes=body.get("traced_bytes"),
        peak_bytes=body.get("peak_bytes"),
        top=[AllocationSite.model_validate(site) for site in body.get("top", [])],
    )
