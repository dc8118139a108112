"""The agent API: one answer as JSON, or the same answer streamed as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from target_service.agent import Agent
from target_service.middleware import input_excerpt
from target_service.routes.deps import api_key
from target_service.schemas import AgentRequest, AgentResponse, ErrorBody

router = APIRouter(prefix="/v1/agent", tags=["agent"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 413, 422, 429)
}


def _args(body: AgentRequest, key_id: str) -> tuple[str, int | None, str, str | None, bool]:
    return body.input, body.max_tokens, key_id, body.session_id, body.memory


def _note(request: Request, body: dict[str, Any]) -> None:
    """What the access log line tells about the answer."""
    request.state.cached = body["cached"]
    request.state.degraded_reason = body["degraded_reason"]


@router.post("/run", response_model=AgentResponse, responses=ERRORS)
async def run(body: AgentRequest, request: Request, key_id: str = Depends(api_key)) -> dict[str, Any]:
    request.state.input_excerpt = input_excerpt(body.input)
    agent: Agent = request.app.state.agent
    async for kind, value in agent.answer(*_args(body, key_id)):
        if kind == "done":
            _note(request, value)
            return value
    raise RuntimeError("agent finished without an answer")  # unreachable: answer() always ends with done


@router.post("/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}},
                                                    "description": "token events, then a done event"}})
async def stream(body: AgentRequest, request: Request, key_id: str = Depends(api_key)) -> StreamingResponse:
    request.state.input_excerpt = input_excerpt(body.input)
    agent: Agent = request.app.state.agent

    async def events() -> AsyncIterator[bytes]:
        async for kind, value in agent.answer(*_args(body, key_id)):
            if kind == "token":
                yield b"data: " + orjson.dumps({"token": value}) + b"\n\n"
            else:
                _note(request, value)
                yield b"event: done\ndata: " + orjson.dumps(value) + b"\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
