"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from target_service import metrics
from target_service.schemas import DependencyStatus

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=DependencyStatus, responses={503: {"model": DependencyStatus}})
async def readyz(request: Request) -> JSONResponse:
    agent = getattr(request.app.state, "agent", None)
    deps = {"model": "ok" if agent is not None else "loading",
            "index": "ok" if agent is not None else "loading",
            "redis": "ok" if agent is not None and await agent.cache.ping() else "down"}
    ready = all(v == "ok" for v in deps.values())
    llm = agent.llm.describe() if agent is not None else None  # where the model runs: device, dtype, ...
    return JSONResponse({"ready": ready, "deps": deps, "llm": llm}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics_endpoint() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
