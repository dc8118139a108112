"""A small OpenAI-compatible upstream on loopback for the proxy tests: fixed words, streamed one
SSE event per word with no delay of its own, so what the proxy adds is what the client sees.

Run: python -m tests.integration.proxy.loopback_upstream PORT
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = [f"w{i}" for i in range(8)]
SEEN_AUTH: list[str] = []  # for in-process tests: what Authorization reached the upstream


def _chunk(word: str) -> bytes:
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    return f"data: {json.dumps(body)}\n\n".encode()


async def chat(request: Request) -> Response:
    SEEN_AUTH.append(request.headers.get("authorization", ""))
    body = await request.json()
    n = int(body.get("max_tokens") or len(WORDS))
    words = (WORDS * (n // len(WORDS) + 1))[:n]
    if body.get("stream"):
        async def events():  # noqa: ANN202
            for word in words:
                yield _chunk(word)
            yield b"data: [DONE]\n\n"
        return StreamingResponse(events(), media_type="text/event-stream")
    message = {"role": "assistant", "content": " ".join(words)}
    return JSONResponse({"id": "c1", "object": "chat.completion", "model": "m",
                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


async def embeddings(request: Request) -> Response:
    body = await request.json()
    return JSONResponse({"object": "list", "data": [{"object": "embedding", "index": 0,
                                                     "embedding": [0.1] * 4}], "model": body.get("model")})


async def models(_: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model"}]})


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                        Route("/v1/completions", chat, methods=["POST"]),
                        Route("/v1/embeddings", embeddings, methods=["POST"]),
                        Route("/v1/models", models)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
