"""A closed-loop concurrency sweep: N requests always in flight, N = 1, 2, 4, ... up to saturation.

It gives the two things an open-model search needs before it starts: a throughput estimate to
start from (guidellm's "synchronous, then throughput" idea), and throughput vs concurrency, the data
the Universal Scalability Law is fitted to. It is a probe, not a measurement against the SLO: the
search's open-model steps (through the load runner) are what the answer rests on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from harness.schemas.run import Endpoints
from harness.target.client import TargetClient
from harness.target.responses import read_body


@dataclass(frozen=True)
class ProbeLevel:
    concurrency: int
    throughput_rps: float
    mean_latency_s: float | None
    requests: int
    errors: int  # failed, or answered degraded


def _served(target: TargetClient, response: httpx.Response) -> bool:
    """Answered in full: a degraded (retrieval-only) answer is the service shedding work, and an
    unreadable one is no answer."""
    if response.status_code >= 400:
        return False
    reading = read_body(target.profile.responses, response.content, response.headers)
    return reading.readable and not reading.degraded


async def _closed_loop(client: httpx.AsyncClient, endpoints: Endpoints, concurrency: int,
                       duration_s: float, prompt: Callable[[], str]) -> ProbeLevel:
    deadline = time.monotonic() + duration_s
    latencies: list[float] = []
    served_at: list[float] = []
    errors = 0

    target = TargetClient.of(endpoints)

    async def user() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            method, url, body, headers = target.request(prompt())
            started = time.monotonic()
            try:
                response = await client.request(method, url, json=body, headers=headers)
                ok = _served(target, response)
            except httpx.HTTPError:
                ok = False
            finished = time.monotonic()
            if finished <= deadline:  # a request still running at the deadline is not counted
                latencies.append(finished - started)
                errors += not ok
                if ok:
                    served_at.append(finished)

    await asyncio.gather(*(user() for _ in range(concurrency)))
    # Rate between the first and the last success: counting from the start would charge the first
    # service time (no completion can happen yet) to the throughput.
    span = max(served_at) - min(served_at) if len(served_at) > 1 else 0.0
    throughput = (len(served_at) - 1) / span if span > 0 else 0.0
    return ProbeLevel(concurrency=concurrency, throughput_rps=throughput,
                      mean_latency_s=sum(latencies) / len(latencies) if latencies else None,
                      requests=len(latencies), errors=errors)


async def _sweep(endpoints: Endpoints, levels: list[int], duration_s: float, timeout_s: float,
                 saturation_gain: float, prompt: Callable[[], str]) -> list[ProbeLevel]:
    out: list[ProbeLevel] = []
    best, flat = 0.0, 0
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
    async with httpx.AsyncClient(limits=limits, timeout=timeout_s) as client:
        level_s = duration_s
        for n in levels:
            level = await _closed_loop(client, endpoints, n, level_s, prompt)
            # A level must span several request lifetimes to measure a rate, whatever the latency.
            level_s = min(max(duration_s, 4 * (level.mean_latency_s or 0.0)), 3 * duration_s)
            out.append(level)
            if level.requests and level.errors > level.requests / 2:
                break  # the target is refusing more than it serves: further levels say nothing new
            # Saturated: two levels in a row that gain less than saturation_gain over the best so far.
            flat = flat + 1 if level.throughput_rps < best * (1 + saturation_gain) else 0
            best = max(best, level.throughput_rps)
            if flat >= 2:
                break
    return out


def concurrency_sweep(endpoints: Endpoints, prompt: Callable[[], str], *, levels: list[int] | None = None,
                      level_s: float = 3.0, timeout_s: float = 30.0,
                      saturation_gain: float = 0.05) -> list[ProbeLevel]:
    """Run levels (default 1, 2, 4, ..., 128) for ``level_s`` each, stopping once throughput is flat.

    ``prompt`` draws each request's input: the load runner's corpus, so the cache sees the same mix.
    """
    return asyncio.run(_sweep(endpoints, levels or [2**i for i in range(8)], level_s, timeout_s,
                              saturation_gain, prompt))


def one_uncached_request(endpoints: Endpoints, timeout_s: float = 10.0) -> None:
    """One request the response cache cannot answer, so it reaches the LLM (and its breaker)."""
    with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=timeout_s) as client:
        TargetClient.of(endpoints).send(client, f"capacity breaker probe {uuid.uuid4().hex}")
