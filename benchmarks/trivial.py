"""The trivial endpoint the load generators are compared against: any request gets a small JSON
answer at once; ``GET /count`` says how many requests were answered, so every generator's
throughput is counted the same way, by the server.

    python -m uvicorn benchmarks.trivial:app --port 8002
"""

from __future__ import annotations

from typing import Any

import orjson

BODY = orjson.dumps({"answer": "ok", "cached": False, "degraded": False})
_served = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _served
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/count":
        body = str(_served).encode()
    else:
        _served += 1
        body = BODY
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
