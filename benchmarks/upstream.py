"""A stand-in OpenAI-compatible upstream: ``POST /v1/chat/completions`` (streamed) answering after a
fixed delay, so an LLM client's concurrency, not the model, decides throughput. Raw ASGI, no
framework, to keep the server's own cost small.

    BENCH_UPSTREAM_DELAY_S=0.05 python -m uvicorn benchmarks.upstream:app --port 8001
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson

DELAY_S = float(os.environ.get("BENCH_UPSTREAM_DELAY_S", "0.05"))


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return b"".join(chunks)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] != "/v1/chat/completions":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})
        return
    request = orjson.loads(await _body(receive))
    await asyncio.sleep(DELAY_S)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    tokens = int(request.get("max_tokens") or 8)
    events = [
        b"data: " + orjson.dumps({"choices": [{"delta": {"content": f" tok{i}"}}]}) + b"\n\n"
        for i in range(tokens)
    ]
    await send({"type": "http.response.body", "body": b"".join(events) + b"data: [DONE]\n\n"})
