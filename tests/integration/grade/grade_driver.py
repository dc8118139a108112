"""A small open-model load loop for grading tests: fixed-interval arrivals, one task per request on a
pool of keep-alive connections (harness.grade.rawhttp: httpx costs more CPU per request than the
planted service), every request written as a requests.csv row like the load runner's."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.grade.rawhttp import ConnectionPool
from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow
from harness.schemas.requests import write_request_log as write_log

PATH = "/v1/agent/run"
BODY = json.dumps({"input": "planted load", "max_tokens": 1}).encode()


@dataclass
class Target:
    url: str
    key: str
    unique: bool = False  # a new prompt per request, so no answer comes from cache
    rows: list[RequestRow] = field(default_factory=list)


async def _one(target: Target, pool: ConnectionPool, intended: float, phase: str) -> None:
    body = json.dumps({"input": f"planted load {intended:.6f}", "max_tokens": 4}).encode() if target.unique \
        else BODY
    start = time.time()
    answer: dict = {}
    readable = True
    try:
        response = await pool.post(PATH, body, {"Authorization": f"Bearer {target.key}"})
        status = response.status
    except (OSError, asyncio.IncompleteReadError, ValueError):
        status = 0
    else:
        try:
            answer = json.loads(response.body or b"")
        except ValueError:
            readable = False
    end = time.time()
    target.rows.append(RequestRow.measured(intended_start=intended, start=start, end=end, status=status,
                                           endpoint=PATH, phase=phase, cached=bool(answer.get("cached")),
                                           degraded=bool(answer.get("degraded")),
                                           outcome=classify(status, readable)))


async def _drive(targets: list[Target], rate: float, phases: list[tuple[str, float]],
                 connections: int) -> list[tuple[str, float, float]]:
    pools = [ConnectionPool(t.url, connections) for t in targets]
    tasks: set[asyncio.Task] = set()
    windows = []
    for phase, seconds in phases:
        begin = time.time()
        n = round(seconds * rate)
        for i in range(n):
            intended = begin + i / rate
            delay = intended - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            for target, pool in zip(targets, pools, strict=True):
                task = asyncio.create_task(_one(target, pool, intended, phase))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        windows.append((phase, begin, begin + n / rate))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    for pool in pools:
        await pool.close()
    return windows


def drive(targets: list[Target], rate: float, phases: list[tuple[str, float]],
          connections: int = 64) -> list[tuple[str, float, float]]:
    """Send ``rate`` req/s to every target through ``phases`` [(name, seconds)]; returns
    [(phase, start, end)]."""
    return asyncio.run(_drive(targets, rate, phases, connections))


def write_request_log(path: Path, rows: list[RequestRow]) -> None:
    """In intended-start order, as the load runner's log is near enough."""
    write_log(path, sorted(rows))
