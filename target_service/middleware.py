"""One pure-ASGI middleware for what every request needs: a request id, the body size limit (413),
metrics and the JSON access log. Pure ASGI so streamed responses pass through untouched."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from target_service import metrics
from target_service.masking import mask

EXCERPT_CHARS = 80
AGENT_PREFIX = "/v1/agent/"


def _masked(value: Any) -> Any:
    """Masks every string in a log record; numbers (timestamps, latencies) stay numbers."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


class AccessLog:
    """JSON lines, appended with O_APPEND: lines from several workers do not interleave."""

    def __init__(self, path: Path | None) -> None:
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the app

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(orjson.dumps(_masked(record)) + b"\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def input_excerpt(text: str) -> str:
    """Masked first, cut second: cutting first could leave half a card number unmasked."""
    return mask(text)[:EXCERPT_CHARS]


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, *, routes: frozenset[str], max_body_bytes: int,
                 access_log: AccessLog, leak_bytes_per_request: int = 0) -> None:
        self.app = app
        self.routes = routes
        self.max_body = max_body_bytes
        self.log = access_log
        # AGENT_LEAK_KB_PER_REQUEST: a planted leak that keeps pace with traffic (never freed).
        self.leak_bytes = leak_bytes_per_request
        self.leaked: list[bytes] = []

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it exceeds the limit (chunked uploads included)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        path = scope["path"]
        endpoint = path if path in self.routes else "unmatched"
        status = 500
        metrics.ACTIVE_TASKS.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            declared = dict(scope["headers"]).get(b"content-length", b"0")
            too_big = not declared.isdigit() or int(declared) > self.max_body
            body = None if too_big else await self._read_body(receive)
            if body is None:
                await self._reject_413(send_wrapper, request_id)
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            metrics.ACTIVE_TASKS.dec()
            metrics.REQUESTS.labels(method=scope["method"], endpoint=endpoint, status=str(status)).inc()
            metrics.REQUEST_DURATION.labels(endpoint=endpoint).observe(elapsed)
            if self.leak_bytes and 200 <= status < 300 and endpoint.startswith(AGENT_PREFIX):
                self.leaked.append(b"\x01" * self.leak_bytes)  # written, so resident
            self.log.write({
                "ts": time.time(), "request_id": request_id, "method": scope["method"], "route": endpoint,
                "path": path, "status": status, "latency_ms": round(elapsed * 1000, 2),
                "key_id": state.get("key_id"), "input_excerpt": state.get("input_excerpt"),
                "cached": state.get("cached"), "degraded_reason": state.get("degraded_reason"),
            })

    async def _reject_413(self, send: Send, request_id: str) -> None:
        body = orjson.dumps({"error": "request body too large", "detail": {"limit_bytes": self.max_body},
                             "request_id": request_id})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
