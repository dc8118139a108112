"""The app: one LLM backend and tokenizer per process (loaded in the lifespan), the embedder on first
use, OpenAI-shaped errors, and the routes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.exceptions import HTTPException as StarletteHTTPException

from target_service.config import Settings
from target_service.llm.base import CONVERSATION, LLM, LLMError, get_llm
from target_service.openai_server.schemas import ChatRequest, CompletionRequest, EmbeddingRequest
from target_service.openai_server.shapes import CHAT, TEXT, Answer, Shape, ToolAnswer
from target_service.security import KeyRing, bearer

EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param


def _error_body(status: int, message: str, kind: str, code: str | None = None,
                param: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}},
                        status_code=status)


class Served:
    """What one process serves: the backend, a tokenizer to count tokens, the embedder once asked for."""

    def __init__(self, settings: Settings, api_keys: list[str]) -> None:
        self.settings = settings
        self.keys = KeyRing(api_keys) if api_keys else None
        self.llm: LLM = get_llm(settings)
        self.tokenizer: Any = None
        self._embedder: Any = None
        self._embedder_lock = asyncio.Lock()

    async def start(self) -> None:
        def load_tokenizer() -> Any:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from transformers import AutoTokenizer

            from target_service.llm.build import minilm_dir
            return AutoTokenizer.from_pretrained(minilm_dir())

        self.tokenizer = await asyncio.to_thread(load_tokenizer)
        await self.llm.start()

    def tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    async def embedder(self) -> Any:
        async with self._embedder_lock:
            if self._embedder is None:
                from target_service.retrieval.embedder import Embedder
                s = self.settings
                self._embedder = await asyncio.to_thread(Embedder, s.embedding_cache_size, s.torch_threads)
        return self._embedder

    def check_model(self, requested: str, served: str) -> None:
        if requested != served:
            raise ApiError(404, f"The model '{requested}' does not exist; this server serves '{served}'",
                           code="model_not_found", param="model")


def _served(request: Request) -> Served:
    served: Served = request.app.state.served
    if served.keys is not None and served.keys.match(bearer(request.headers.get("authorization"))) is None:
        raise ApiError(401, "Incorrect or missing API key (send Authorization: Bearer KEY)",
                       code="invalid_api_key")
    return served


async def _first_piece(served: Served, prompt: str) -> None:
    """A tool call costs the model its prompt and a first token, like any answer's start."""
    pieces = aiter(served.llm.stream(prompt, 1))
    try:
        await anext(pieces, None)
    except LLMError as exc:
        raise ApiError(500, f"the model failed: {exc}", kind="server_error") from exc
    finally:
        await pieces.aclose()


async def _no_pieces() -> AsyncIterator[str]:
    return
    yield  # an async generator that yields nothing: a tool-call answer streams no text


async def _generate(served: Served, shape: Shape, prompt: str, budget: int, stream: bool,
                    include_usage: bool, calls: list[tuple[str, str]] | None = None) -> Any:
    if calls:  # the question needs tools: the answer calls them instead of answering
        await _first_piece(served, prompt)
        answer: Answer = ToolAnswer(served.llm.name, served.tokens(prompt), budget, calls)
        pieces = _no_pieces()
    else:
        answer = Answer(shape, served.llm.name, served.tokens(prompt), budget)
        pieces = served.llm.stream(prompt, budget)
    if stream:
        return StreamingResponse(answer.sse(pieces, include_usage), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    try:
        return answer.whole([p async for p in pieces])
    except LLMError as exc:
        raise ApiError(500, f"the model failed: {exc}", kind="server_error") from exc


Caller = Annotated[Served, Depends(_served)]  # the served state, once the caller's key checked out


def _routes(app: FastAPI) -> None:
    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(served: Caller) -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "loadgate"}
            for name in (served.llm.name, EMBEDDING_MODEL)]}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, served: Caller) -> Any:
        served.check_model(body.model, served.llm.name)
        CONVERSATION.set(body.user or "")
        budget = body.token_budget(served.settings.default_max_tokens)
        return await _generate(served, CHAT, body.prompt(), budget, body.stream, body.include_usage(),
                               body.tools_to_call())

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, served: Caller) -> Any:
        served.check_model(body.model, served.llm.name)
        try:
            prompt = body.text()
        except ValueError as exc:
            raise ApiError(400, str(exc), param="prompt") from exc
        return await _generate(served, TEXT, prompt, body.token_budget(), body.stream, body.include_usage())

    @app.post("/v1/embeddings")
    async def embeddings(body: EmbeddingRequest, served: Caller) -> dict[str, Any]:
        served.check_model(body.model, EMBEDDING_MODEL)
        texts = body.texts()
        if not texts or any(not t for t in texts):
            raise ApiError(400, "input must be a non-empty string or a list of non-empty strings",
                           param="input")
        vectors = await asyncio.to_thread((await served.embedder()).embed, texts)
        prompt_tokens = sum(served.tokens(t) for t in texts)
        return {"object": "list", "model": EMBEDDING_MODEL,
                "data": [{"object": "embedding", "index": i, "embedding": v.tolist()}
                         for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}


def _error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error_body(exc.status, exc.message, exc.kind, exc.code, exc.param)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return _error_body(400, "the request body is not valid JSON", "invalid_request_error")
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "body"
        return _error_body(400, f"{where}: {first.get('msg', 'invalid request')}", "invalid_request_error",
                           param=where)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return _error_body(exc.status_code, str(exc.detail), "invalid_request_error")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def create_app(settings: Settings | None = None, api_keys: list[str] | None = None) -> FastAPI:
    served = Served(settings or Settings(), api_keys or [])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await served.start()
        try:
            yield
        finally:
            await served.llm.close()

    app = FastAPI(title="loadgate OpenAI-compatible server", lifespan=lifespan)
    app.state.served = served
    _routes(app)
    _error_handlers(app)
    # Its own registry: the bundled service's agent_* metrics (imported by the backends) stay out.
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    Instrumentator(registry=registry, excluded_handlers=["/metrics", "/health"]).instrument(app).expose(app)
    return app
