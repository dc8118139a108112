"""A planted agent that reaches its LLM the way real ones do: an OpenAI-compatible API at
``OPENAI_BASE_URL``. It speaks the bundled service's request contract (``/v1/agent/run`` and
``/v1/agent/stream``, Bearer key, ``degraded`` / ``cached`` in the answer) but has no
``/admin/faults``, no metrics and no breaker gauge: its resilience can only be seen from outside.

With ``AGENT_RESILIENT=1`` (default) each LLM call has a deadline (``AGENT_LLM_TIMEOUT_S``) and a
consecutive-failure circuit breaker; a call that fails, times out or meets an open breaker becomes a
degraded answer. With ``AGENT_RESILIENT=0`` it waits for the LLM however long it takes and passes
its errors on. Imports nothing from harness.

Run: OPENAI_BASE_URL=http://127.0.0.1:8100/v1 AGENT_API_KEY=k \
     python -m tests.planted_services.llm_client_agent --port 8080
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

RESILIENT = os.environ.get("AGENT_RESILIENT", "1") == "1"
TIMEOUT_S = float(os.environ.get("AGENT_LLM_TIMEOUT_S", "1.5"))
FAILURES_TO_OPEN = int(os.environ.get("AGENT_BREAKER_FAILURES", "5"))
OPEN_S = float(os.environ.get("AGENT_BREAKER_OPEN_S", "3"))
BASE_URL = os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1").rstrip("/")
MODEL = os.environ.get("OPENAI_MODEL", "default")
FALLBACK = "The assistant is busy; here is what the knowledge base says."


class Ask(BaseModel):
    input: str = Field(min_length=1, max_length=4000)
    session_id: str | None = None
    max_tokens: int | None = Field(None, ge=1, le=256)


class Breaker:
    """Closed -> open after N failures in a row -> half-open after OPEN_S (one probe) -> closed."""

    def __init__(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= OPEN_S and not self.probing:
            self.probing = True  # half-open: this one call finds out
            return True
        return False

    def record(self, ok: bool) -> None:
        self.probing = False
        if ok:
            self.failures, self.opened_at = 0, None
        else:
            self.failures += 1
            if self.failures >= FAILURES_TO_OPEN or self.opened_at is not None:
                self.opened_at = time.monotonic()


breaker = Breaker()
client: httpx.AsyncClient | None = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global client
    headers = {"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', 'none')}"}
    client = httpx.AsyncClient(base_url=BASE_URL, headers=headers, timeout=httpx.Timeout(None, connect=5),
                               limits=httpx.Limits(max_connections=500, max_keepalive_connections=500))
    async with client:
        yield


app = FastAPI(lifespan=lifespan)


def _check_key(authorization: str | None) -> None:
    if authorization != f"Bearer {os.environ.get('AGENT_API_KEY', 'planted-key')}":
        raise HTTPException(401, "missing or wrong API key")


async def _complete(ask: Ask) -> str:
    assert client is not None
    body = {"model": MODEL, "messages": [{"role": "user", "content": ask.input}],
            "max_tokens": ask.max_tokens or 16}
    response = await client.post("/chat/completions", json=body)
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"]


async def _answer(ask: Ask) -> dict:
    if not RESILIENT:  # no deadline, no breaker: the LLM's slowness and errors are the client's
        try:
            return {"answer": await _complete(ask), "cached": False, "degraded": False}
        except httpx.HTTPError as exc:
            raise HTTPException(502, f"LLM call failed: {type(exc).__name__}") from None
    if not breaker.allow():
        return {"answer": FALLBACK, "cached": False, "degraded": True, "degraded_reason": "breaker_open"}
    try:
        async with asyncio.timeout(TIMEOUT_S):
            answer = await _complete(ask)
    except (TimeoutError, httpx.HTTPError, KeyError, ValueError) as exc:
        breaker.record(False)
        return {"answer": FALLBACK, "cached": False, "degraded": True, "degraded_reason": type(exc).__name__}
    breaker.record(True)
    return {"answer": answer, "cached": False, "degraded": False}


@app.post("/v1/agent/run")
async def run(ask: Ask, authorization: str | None = Header(None)) -> dict:
    _check_key(authorization)
    return await _answer(ask)


@app.post("/v1/agent/stream")
async def stream(ask: Ask, authorization: str | None = Header(None)) -> StreamingResponse:
    _check_key(authorization)
    result = await _answer(ask)  # answered whole, sent as word events: enough for this contract

    async def events() -> AsyncIterator[bytes]:
        for word in result["answer"].split():
            yield b"data: " + json.dumps({"token": word + " "}).encode() + b"\n\n"
        flags = {k: result[k] for k in ("cached", "degraded")}
        yield b"event: done\ndata: " + json.dumps(flags).encode() + b"\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/healthz")
@app.get("/readyz")
async def health() -> dict:
    return {"status": "ok"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
