"""The LLM fault proxy: an ASGI app that forwards any OpenAI-compatible route to one upstream with
the project's async client (httpx), and injects the leased ``LLMFault`` on the way.

Bytes pass through unchanged (bodies, SSE events, status, headers except hop-by-hop ones), so the
service under test sees its real upstream. Nothing is logged per request: Authorization headers and
keys are forwarded, never written anywhere.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.proxy.admin import admin_routes
from harness.proxy.leases import LeaseStore
from harness.proxy.metrics import LLMProxyMetrics
from harness.schemas.faults import LLMFault

# Routes whose calls are model calls: the grader compares how many the service made (counted on
# arrival, before any fault) with the client's cache misses.
LLM_ROUTES = ("/v1/chat/completions", "/v1/completions")
_KNOWN_ROUTES = (*LLM_ROUTES, "/v1/embeddings", "/v1/models")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
_MAX_CALLS_KEPT = 1_000_000  # ~8 MB of timestamps: hours at the gate's rates
_HANG_LIMIT_S = 600.0


class MidStreamDisconnect(Exception):
    """Raised inside a streamed body: the server drops the connection without ending the stream."""


def _route(path: str) -> str:
    return next((r for r in _KNOWN_ROUTES if path == r or path.endswith(r.removeprefix("/v1"))), "other")


def _headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}


def _error(fault: LLMFault) -> JSONResponse:
    headers = {"Retry-After": str(fault.retry_after_s)} if fault.error_status in (429, 503) else {}
    body = {"error": {"message": f"injected by loadgate proxy ({fault.error_status})",
                      "type": "loadgate_injected_fault", "code": fault.error_status}}
    return JSONResponse(body, status_code=fault.error_status, headers=headers)


async def _sse_events(raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The upstream body cut at SSE event ends (a blank line), so each event is one chunk."""
    buffer = b""
    async for piece in raw:
        buffer += piece
        while (cut := buffer.find(b"\n\n")) >= 0:
            yield buffer[: cut + 2]
            buffer = buffer[cut + 2:]
    if buffer:
        yield buffer


async def _numbered(events: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    sent = 0
    async for event in events:
        yield sent, event
        sent += 1


class LLMProxy:
    def __init__(self, upstream: str, token: SecretStr, *, max_connections: int = 1000) -> None:
        self.upstream = upstream.rstrip("/")
        self.leases = LeaseStore("llm")
        self.metrics = LLMProxyMetrics()
        self.calls: deque[float] = deque(maxlen=_MAX_CALLS_KEPT)
        self._limits = httpx.Limits(max_connections=max_connections,
                                    max_keepalive_connections=max_connections)
        self._client: httpx.AsyncClient | None = None
        routes = admin_routes(self.leases, token, self.metrics.registry, self._calls_since)
        routes.append(Route("/{path:path}", self.forward,
                            methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        # No read timeout of our own: the service's timeout is what is under test. Redirects are
        # passed back to the service, never followed.
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0), limits=self._limits,
                                         follow_redirects=False)
        async with self._client:
            yield

    def _calls_since(self, since: float) -> dict[str, Any]:
        return {"llm_calls": [t for t in self.calls if t >= since]}

    def _fault_for(self, path: str) -> LLMFault | None:
        lease = self.leases.current()
        fault = lease.llm if lease is not None else None
        return fault if fault is not None and fault.applies_to(path) else None

    async def _hang(self, request: Request, route: str) -> Response:
        self.metrics.faults.labels(route, "hang").inc()
        deadline = time.monotonic() + _HANG_LIMIT_S
        while time.monotonic() < deadline and not await request.is_disconnected():
            await asyncio.sleep(0.2)
        return Response(status_code=504)

    async def _before_upstream(self, request: Request, route: str, fault: LLMFault) -> Response | None:
        """Delay, hang or error as the fault says; None to go on to the upstream."""
        if fault.hang:
            return await self._hang(request, route)
        delay = fault.first_byte_delay_s + (random.uniform(0, fault.jitter_s) if fault.jitter_s else 0.0)
        if delay > 0:
            self.metrics.faults.labels(route, "first_byte_delay").inc()
            await asyncio.sleep(delay)
        if fault.error_rate and random.random() < fault.error_rate:
            self.metrics.faults.labels(route, f"error_{fault.error_status}").inc()
            return _error(fault)
        return None

    async def forward(self, request: Request) -> Response:
        start = time.monotonic()
        path, route = request.url.path, _route(request.url.path)
        if route in LLM_ROUTES:  # a call the service made, whether or not a fault lets it through
            self.calls.append(time.time())
        fault = self._fault_for(path)
        body = await request.body()
        if fault is not None and (early := await self._before_upstream(request, route, fault)) is not None:
            self._done(route, early.status_code, start)
            return early
        assert self._client is not None, "lifespan not started"
        upstream_request = self._client.build_request(
            request.method, f"{self.upstream}{path}", params=request.query_params.multi_items(),
            headers=_headers(request.headers), content=body)
        self.metrics.upstream_calls.labels(route).inc()
        try:
            upstream = await self._client.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            self._done(route, 502, start)
            return JSONResponse({"error": {"message": f"loadgate proxy: upstream unreachable "
                                           f"({type(exc).__name__})", "type": "loadgate_proxy"}}, 502)
        self.metrics.first_byte.labels(route).observe(time.monotonic() - start)
        return StreamingResponse(self._body(upstream, route, fault, start), status_code=upstream.status_code,
                                 headers=_headers(upstream.headers))

    async def _body(self, upstream: httpx.Response, route: str, fault: LLMFault | None,
                    start: float) -> AsyncIterator[bytes]:
        sse = upstream.headers.get("content-type", "").startswith("text/event-stream")
        try:
            if fault is None or not sse:
                async for piece in upstream.aiter_raw():
                    yield piece
                return
            async for sent, event in _numbered(_sse_events(upstream.aiter_raw())):
                if fault.disconnect_after_chunks is not None and sent >= fault.disconnect_after_chunks:
                    self.metrics.faults.labels(route, "disconnect").inc()
                    raise MidStreamDisconnect(f"after {sent} chunks")
                if fault.chunk_delay_s:
                    await asyncio.sleep(fault.chunk_delay_s)
                yield event
        finally:
            await upstream.aclose()
            self._done(route, upstream.status_code, start)

    def _done(self, route: str, status: int, start: float) -> None:
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.duration.labels(route).observe(time.monotonic() - start)
