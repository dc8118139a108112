"""Checks that talk to the service itself: health endpoints, authentication, the rate limiter.

The burst uses the second API key so the keys the load used are never throttled by the grader.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.grade.checks.common import (
    PROBE_PROMPT,
    TIMEOUT_S,
    ask,
    pass_unless,
    probe_client,
    service_endpoints,
)
from harness.grade.context import GradeContext
from harness.grade.rawhttp import ConnectionPool
from harness.grade.result import NoData, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.params import RateLimitParams
from harness.schemas.run import Endpoints
from harness.schemas.verdict import ItemResult, ItemStatus
from harness.target.client import TargetClient


def health(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = service_endpoints(ctx)
    evidence: dict[str, Any] = {}
    problems = []
    paths = TargetClient.of(ep).health_paths()
    if not paths:
        raise NoData("the service profile has no health or readiness path (service.health)")
    with probe_client() as client:
        for path in paths:
            try:
                response = client.get(ep.target_url.rstrip("/") + path)
            except httpx.HTTPError as exc:
                problems.append(f"{path} unreachable ({type(exc).__name__})")
                continue
            evidence[path] = {"status": response.status_code, "body": response.text[:500]}
            if response.status_code != 200:
                problems.append(f"{path} answered {response.status_code}")
    return pass_unless(item, problems, f"{' and '.join(paths)} answer 200", value=len(paths) - len(problems),
                       unit=f"of {len(paths)}", evidence=evidence)


def auth(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = service_endpoints(ctx)
    cases = {"no key": None, "wrong key": "loadgate-wrong-" + secrets.token_hex(8), "valid key": ep.api_key}
    seen: dict[str, int] = {}
    with probe_client() as client:
        for name, key in cases.items():
            seen[name] = ask(client, ep, key).status_code
    problems = [f"{name} got {seen[name]}, expected 401" for name in ("no key", "wrong key")
                if seen[name] != 401]
    if not 200 <= seen["valid key"] < 300:
        problems.append(f"the valid key got {seen['valid key']}, expected 2xx (auth not judgeable)")
    return pass_unless(item, problems, "no key and a wrong key get 401, the valid key 2xx",
                       value=sum(seen[n] == 401 for n in ("no key", "wrong key")), unit="of 2 refused",
                       evidence={"statuses": seen})


# A burst must beat the run's own load by this much before "no 429" means "no limiter": at or under it,
# the burst only measured how fast the service answers.
BURST_MARGIN = 1.1


def rate_limit(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = service_endpoints(ctx)
    key = ep.api_key_2 or ep.api_key
    params = RateLimitParams.of(item.params)
    burst, concurrency = params.burst, params.concurrency
    started = time.monotonic()
    statuses, retry_after = asyncio.run(_burst(ep, key, burst, concurrency))
    elapsed = time.monotonic() - started
    limited = statuses.count(429)
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses))}
    evidence = {"sent": len(statuses), "statuses": counts, "seconds": round(elapsed, 2),
                "key": "api_key_2" if ep.api_key_2 else "api_key (no second key known)",
                "retry_after": retry_after[:5]}
    fields = {"value": limited, "unit": "429s", "samples": len(statuses), "evidence": evidence}
    if statuses.count(0) == len(statuses):
        return make_result(item, ItemStatus.failed,
                           f"the service answered none of {len(statuses)} burst requests", **fields)
    if not limited:
        burst_rps, load_rps = len(statuses) / max(elapsed, 1e-9), _load_rate(ctx)
        evidence.update(burst_rps=round(burst_rps, 1), load_rps=load_rps)
        if load_rps and burst_rps <= BURST_MARGIN * load_rps:
            raise NoData(f"the burst reached only {burst_rps:.0f} req/s, not above the {load_rps:g} req/s of "
                         f"this run's own load: it never exceeded the service's own throughput, so no rate "
                         f"limit could show", **fields)
        return make_result(item, ItemStatus.failed,
                           f"a burst of {len(statuses)} requests in {elapsed:.1f} s ({burst_rps:.0f} req/s) "
                           f"from one key got no 429", **fields)
    bad = [h for h in retry_after if not _valid_retry_after(h)]
    if bad:
        return make_result(item, ItemStatus.failed, f"{len(bad)} of {limited} 429s lack a valid Retry-After "
                           f"(e.g. {bad[0]!r})", **fields)
    return make_result(item, ItemStatus.passed, f"{limited} of {len(statuses)} burst requests got 429 with "
                       f"Retry-After {retry_after[0]!r}", **fields)


def _load_rate(ctx: GradeContext) -> float | None:
    """The highest arrival rate this run's profile promised the service (req/s), None without one."""
    profile = ctx.checklist.profiles.get(ctx.profile)
    rates = [plan.rate_x for plan in profile.scenarios.values() if plan.rate_x] if profile else []
    return max(rates) * ctx.checklist.target_qps if rates else None


async def _burst(ep: Endpoints, key: str, burst: int, concurrency: int) -> tuple[list[int], list[str | None]]:
    statuses: list[int] = []
    retry_after: list[str | None] = []
    queue = iter(range(burst))
    _, url, payload, headers = TargetClient.of(ep).request(PROBE_PROMPT, max_tokens=1, api_key=key)
    body = json.dumps(payload).encode()
    pool = ConnectionPool(ep.target_url, concurrency)
    path = urlsplit(url).path

    async def worker() -> None:
        for _ in queue:
            # A few 429s prove the limiter; more would only load the service.
            if len(retry_after) >= 20:
                return
            try:
                response = await asyncio.wait_for(pool.post(path, body, headers), TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                statuses.append(0)
                continue
            statuses.append(response.status)
            if response.status == 429:
                retry_after.append(response.headers.get("retry-after"))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await pool.close()
    return statuses, retry_after


def _valid_retry_after(value: str | None) -> bool:
    if not value:
        return False
    if value.strip().isdigit():
        return True
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True
