"""The app factory: builds every component once per worker process, in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from target_service import metrics
from target_service.agent import Agent
from target_service.cache import ResponseCache
from target_service.config import Settings
from target_service.faults import FaultStore
from target_service.llm.base import get_llm
from target_service.masking import install_log_masking
from target_service.middleware import AccessLog, ServiceMiddleware
from target_service.ratelimit import RateLimiter
from target_service.resilience import CircuitBreaker
from target_service.retrieval.embedder import Embedder
from target_service.retrieval.index import PassageIndex
from target_service.routes import admin, agent, ops
from target_service.security import KeyRing

log = logging.getLogger("target_service")


def _build_index(settings: Settings) -> PassageIndex:
    embedder = Embedder(settings.embedding_cache_size, settings.torch_threads)
    return PassageIndex(embedder, settings.cache_dir, settings.hnsw_ef)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    s: Settings = app.state.settings
    faults = FaultStore(s.state_dir, s.faults_poll_s)
    cache = ResponseCache(s.redis_url, s.cache_ttl_s, s.redis_max_connections, s.redis_timeout_s,
                          s.redis_retry_after_s, faults)
    llm = get_llm(s)
    index = await asyncio.to_thread(_build_index, s)
    await llm.start()
    app.state.faults = faults
    app.state.breaker = CircuitBreaker(s.breaker_failure_threshold, s.breaker_reset_s,
                                       s.breaker_half_open_max)
    app.state.agent = Agent(s, llm, index, cache, app.state.breaker, faults)
    app.state.agent.start()
    app.state.limiter = RateLimiter(s.key_rate_per_s, s.key_burst, s.global_rate_per_s, s.global_burst,
                                    s.workers)
    app.state.keys = KeyRing(s.key_values())
    if s.tracemalloc:
        # Started after loading: tracing torch's import and the weights takes minutes, and what
        # /admin/memory is for is growth while serving. One frame per site keeps the overhead low.
        tracemalloc.start(1)
    log.info("ready: backend=%s model=%s passages=%d index_built_now=%s", s.llm_backend, llm.name,
             len(index.passages), index.built_now)
    try:
        yield
    finally:
        # uvicorn has already drained in-flight requests (timeout_graceful_shutdown) by now.
        await llm.close()
        await cache.close()
        app.state.agent.close()
        app.state.access_log.close()
        metrics.mark_worker_dead()


def _error(status: int, error: str, request: Request, detail: object = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail,
                           "request_id": getattr(request.state, "request_id", None)},
                          status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Drop the echoed input: it may carry personal data and can be large.
    detail = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    return _error(422, "invalid request", request, detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _error(exc.status_code, str(exc.detail), request, headers=exc.headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not logging.getLogger().handlers:  # uvicorn configures only its own loggers
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking("uvicorn", "uvicorn.error", "target_service")
    app = FastAPI(title="loadgate reference agent service", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.access_log = AccessLog(settings.access_log)
    app.include_router(agent.router)
    app.include_router(ops.router)
    app.include_router(admin.router)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Included routers are opaque in this FastAPI version; the schema lists every API path.
    routes = frozenset(app.openapi()["paths"]) | {"/openapi.json", "/docs", "/redoc"}
    app.add_middleware(ServiceMiddleware, routes=routes, max_body_bytes=settings.max_body_bytes,
                       access_log=app.state.access_log,
                       leak_bytes_per_request=int(settings.leak_kb_per_request * 1024))
    return app
