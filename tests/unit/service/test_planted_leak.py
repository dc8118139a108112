"""AGENT_LEAK_KB_PER_REQUEST: the planted leak the memory_per_request calibration runs the bundled
service with keeps exactly that much per 2xx agent answer, nothing for other answers, nothing by default."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from target_service.config import Settings
from target_service.middleware import AccessLog, ServiceMiddleware


async def _answer(request):  # noqa: ANN001, ANN202 - a starlette endpoint
    return JSONResponse({"ok": True}, status_code=int(request.query_params.get("status", "200")))


def _app(leak_kb: float) -> tuple[ServiceMiddleware, httpx.AsyncClient]:
    routes = [Route("/v1/agent/run", _answer, methods=["POST"]), Route("/healthz", _answer)]
    inner = Starlette(routes=routes)
    settings = Settings(leak_kb_per_request=leak_kb)
    mw = ServiceMiddleware(inner, routes=frozenset({"/v1/agent/run", "/healthz"}), max_body_bytes=1024,
                           access_log=AccessLog(None),
                           leak_bytes_per_request=int(settings.leak_kb_per_request * 1024))
    return mw, httpx.AsyncClient(transport=httpx.ASGITransport(app=mw), base_url="http://127.0.0.1")


async def _traffic(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await client.post("/v1/agent/run", content=b"{}")).status_code == 200
    assert (await client.post("/v1/agent/run?status=429", content=b"{}")).status_code == 429
    assert (await client.post("/v1/agent/run?status=503", content=b"{}")).status_code == 503
    assert (await client.get("/healthz")).status_code == 200


async def _run(mw_client: tuple[ServiceMiddleware, httpx.AsyncClient]) -> ServiceMiddleware:
    mw, client = mw_client
    async with client:
        await _traffic(client)
    return mw


def test_each_served_agent_answer_keeps_the_planted_kilobytes() -> None:
    mw = asyncio.run(_run(_app(2.0)))
    assert [len(b) for b in mw.leaked] == [2048] * 5  # 429, 503 and /healthz keep nothing


def test_nothing_is_kept_by_default() -> None:
    mw = asyncio.run(_run(_app(Settings().leak_kb_per_request)))
    assert mw.leaked == []
