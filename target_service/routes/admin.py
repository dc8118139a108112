"""Operator endpoints (admin token): fault injection, breaker state, memory diagnostics."""

from __future__ import annotations

import tracemalloc
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from target_service.faults import FaultSpec
from target_service.routes.deps import admin_token
from target_service.schemas import ErrorBody

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(admin_token)],
                   responses={401: {"model": ErrorBody}})


@router.get("/faults", response_model=FaultSpec)
async def get_faults(request: Request) -> FaultSpec:
    return request.app.state.faults.current()


@router.put("/faults", response_model=FaultSpec, responses={422: {"model": ErrorBody}})
async def put_faults(spec: FaultSpec, request: Request) -> FaultSpec:
    request.app.state.faults.set(spec)
    return spec


@router.delete("/faults", response_model=FaultSpec)
async def delete_faults(request: Request) -> FaultSpec:
    request.app.state.faults.clear()
    return FaultSpec()


@router.get("/breaker")
async def breaker(request: Request) -> dict[str, Any]:
    """This worker's breaker (each worker has its own; the metric gives the max over workers)."""
    return request.app.state.breaker.snapshot()


@router.get("/memory", responses={409: {"model": ErrorBody}})
async def memory(request: Request, top: int = 20) -> dict[str, Any]:
    if not tracemalloc.is_tracing():
        raise HTTPException(409, "tracemalloc is off: start the service with AGENT_TRACEMALLOC=1")
    stats = tracemalloc.take_snapshot().statistics("lineno")[: max(1, min(top, 100))]
    current, peak = tracemalloc.get_traced_memory()
    return {"traced_bytes": current, "peak_bytes": peak,
            "top": [{"where": str(s.traceback), "size_bytes": s.size, "count": s.count} for s in stats]}
