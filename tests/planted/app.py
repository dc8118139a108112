"""The planted service: same metric names, buckets and routes as the bundled agent service, with
deterministic faults (every n-th request), so a test knows the truth it grades against."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import time
import uuid
from collections import OrderedDict
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, Field

# The bundled service's buckets (target_service/metrics.py), dense around the 3 s SLO.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25,
                   2.5, 2.75, 3.0, 3.5, 4.0, 4.5, 5.0, 7.5, 10.0, 20.0)
RUN = "/v1/agent/run"
MODEL = "planted"


class Knobs(BaseModel):
    api_keys: list[str] = Field(default_factory=lambda: ["planted-key", "planted-key-2"])
    any_key: bool = False  # accept every request, with or without a key
    rate_per_s: float = 200.0  # per key token bucket
    burst: float = 100.0
    no_rate_limit: bool = False
    leak_mb_per_s: float = 0.0
    # Kept for every request served (a growing list of request records): a leak that keeps pace with
    # traffic, as a real one does, where leak_mb_per_s leaks by the clock.
    leak_kb_per_request: float = 0.0
    # A bounded cache: the last cache_entries requests keep cache_kb each (fills, then holds still).
    cache_kb: float = 0.0
    cache_entries: int = 0
    slow_every: int = 0  # every n-th request takes slow_s (2% at 50: P99 = slow_s)
    slow_s: float = 4.2
    error_every: int = 0  # every n-th request answers 500 (0.5% at 200)
    shed_every: int = 0  # every n-th request answers 429 (a fifth at 5), whatever the rate
    bad_request_every: int = 0  # every n-th well-formed request answers 400 (1% at 100)
    garbage_every: int = 0  # every n-th request answers 200 with a body that is not JSON (1% at 100)
    service_time_s: float = 0.0  # every request
    max_concurrency: int = 0  # serve at most this many at once (0: unbounded); the rest queue
    access_log: Path | None = None
    log_input: bool = False  # write the request's input into the access log unmasked (a PII leak)
    log_late_s: float = 0.0  # write the access-log line this long after the response has gone


class Body(BaseModel):
    input: str
    session_id: str | None = None
    max_tokens: int | None = None


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, time.monotonic()

    def take(self) -> float:
        """0 when a token was taken, else seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class _Slots:
    """At most ``n`` requests served at once, ``service_s`` each, first come first served, scheduled on
    an absolute clock: a wake-up a busy machine makes late delays that one answer, never the slot's next
    request, so the capacity is exactly n / service_s however loaded the machine is. (An
    asyncio.Semaphore around a sleep loses every late wake-up and hand-over: its capacity fell with
    the load, and a test bounding the found capacity within 5% failed on a busy machine.)"""

    def __init__(self, n: int, service_s: float) -> None:
        self.free_at = [0.0] * n  # a heap: when each slot is next free
        self.service_s = service_s

    async def serve(self) -> None:
        now = time.monotonic()
        done = max(now, heapq.heappop(self.free_at)) + self.service_s
        heapq.heappush(self.free_at, done)
        await asyncio.sleep(done - now)


def create_app(knobs: Knobs) -> FastAPI:
    requests_total = Counter("agent_requests_total", "HTTP requests", ["method", "endpoint", "status"])
    duration = Histogram("agent_request_duration_seconds", "latency", ["endpoint"], buckets=LATENCY_BUCKETS)
    active = Gauge("agent_active_tasks", "in progress")
    llm = Histogram("llm_request_duration_seconds", "LLM latency", ["model"], buckets=LATENCY_BUCKETS)
    ttft = Histogram("llm_time_to_first_token_seconds", "TTFT", ["model"], buckets=LATENCY_BUCKETS)
    breaker = Gauge("agent_circuit_breaker_state", "0 closed")
    breaker.set(0)
    counter = itertools.count(1)
    buckets: dict[str, _Bucket] = {}
    leaked: list[bytes] = []
    cache: OrderedDict[int, bytes] = OrderedDict()
    slots = _Slots(knobs.max_concurrency, knobs.service_time_s) if knobs.max_concurrency else None

    async def leak() -> None:
        while True:
            # Filled bytes, not zeroed ones: zero pages may never become resident.
            leaked.append(b"\x01" * int(knobs.leak_mb_per_s * 1e6 / 10))
            await asyncio.sleep(0.1)

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        task = asyncio.create_task(leak()) if knobs.leak_mb_per_s > 0 else None
        yield
        if task:
            task.cancel()

    app = FastAPI(lifespan=lifespan)

    def log(request: Request, status: int, request_id: str | None, text: str | None = None) -> None:
        if knobs.access_log is None:
            return
        line = {"ts": time.time(), "method": request.method, "path": request.url.path, "status": status,
                "request_id": request_id}
        if knobs.log_input and text is not None:
            line["input"] = text
        with knobs.access_log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    late_lines: set[asyncio.Task[None]] = set()  # held until written: the loop keeps weak references

    async def log_late(request: Request, status: int, request_id: str | None, text: str | None) -> None:
        await asyncio.sleep(knobs.log_late_s)
        log(request, status, request_id, text)

    def finish(request: Request, response: Response, started: float, request_id: str | None = None,
               text: str | None = None) -> Response:
        requests_total.labels("POST", RUN, str(response.status_code)).inc()
        duration.labels(RUN).observe(time.perf_counter() - started)
        if knobs.log_late_s:  # as a middleware logging once the body is sent: the client is ahead of the log
            task = asyncio.get_running_loop().create_task(
                log_late(request, response.status_code, request_id, text))
            late_lines.add(task)
            task.add_done_callback(late_lines.discard)
        else:
            log(request, response.status_code, request_id, text)
        return response

    @app.post(RUN)
    async def run(body: Body, request: Request) -> Response:
        started = time.perf_counter()
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not knobs.any_key and key not in knobs.api_keys:
            return finish(request, JSONResponse({"detail": "invalid API key"}, status_code=401), started)
        if not knobs.no_rate_limit:
            wait = buckets.setdefault(key, _Bucket(knobs.rate_per_s, knobs.burst)).take()
            if wait:
                limited = JSONResponse({"detail": "rate limited"}, status_code=429,
                                       headers={"Retry-After": str(max(1, round(wait)))})
                return finish(request, limited, started)
        n = next(counter)
        if knobs.shed_every and n % knobs.shed_every == 0:
            return finish(request, JSONResponse({"detail": "planted shedding"}, status_code=429,
                                                headers={"Retry-After": "1"}), started)
        if knobs.bad_request_every and n % knobs.bad_request_every == 0:
            return finish(request, JSONResponse({"detail": "planted bad request"}, status_code=400), started)
        active.inc()
        try:
            if slots is not None:
                await slots.serve()
            elif knobs.service_time_s:
                await asyncio.sleep(knobs.service_time_s)
            if knobs.slow_every and n % knobs.slow_every == 0:
                await asyncio.sleep(knobs.slow_s)
        finally:
            active.dec()
        llm.labels(MODEL).observe(time.perf_counter() - started)
        ttft.labels(MODEL).observe(time.perf_counter() - started)
        if knobs.error_every and n % knobs.error_every == 0:
            return finish(request, JSONResponse({"detail": "planted error"}, status_code=500), started)
        if knobs.garbage_every and n % knobs.garbage_every == 0:
            return finish(request, Response(b"<html>upstream hiccup</html>", media_type="application/json"),
                          started)
        request_id = uuid.uuid4().hex
        if knobs.leak_kb_per_request:
            leaked.append(b"\x01" * int(knobs.leak_kb_per_request * 1024))
        if knobs.cache_entries:
            cache[n] = b"\x01" * int(knobs.cache_kb * 1024)
            while len(cache) > knobs.cache_entries:
                cache.popitem(last=False)
        answer = {"request_id": request_id, "answer": "planted", "sources": [], "cached": False,
                  "degraded": False, "degraded_reason": None, "model": MODEL,
                  "timings": {"total_ms": (time.perf_counter() - started) * 1000}}
        return finish(request, JSONResponse(answer), started, request_id, body.input)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, object]:
        return {"ready": True, "deps": {}}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
