"""One request's path: cache -> retrieval -> LLM (timeout, breaker, faults) -> fallback -> cache."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from target_service import metrics
from target_service.batching import MicroBatcher
from target_service.cache import ResponseCache, cache_key
from target_service.config import Settings
from target_service.faults import FaultStore, InjectedLLMError
from target_service.llm.base import LLM, LLMError
from target_service.resilience import BreakerOpen, CircuitBreaker
from target_service.retrieval.index import Hit, PassageIndex

# What the streaming route forwards: ("token", text) while generating, then ("done", response body).
Event = tuple[str, Any]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def fallback_answer(hits: list[Hit]) -> str:
    if not hits:
        return "The assistant is temporarily unavailable. Please try again shortly."
    top = hits[0].passage
    return f"The assistant is temporarily degraded; the most relevant note says: {top.title}. {top.text}"


class Agent:
    def __init__(self, settings: Settings, llm: LLM, index: PassageIndex, cache: ResponseCache,
                 breaker: CircuitBreaker, faults: FaultStore) -> None:
        self._s = settings
        self.llm, self.index, self.cache, self.breaker, self.faults = llm, index, cache, breaker, faults
        # Embedding is compute: one thread keeps it off the event loop without fighting the LLM thread,
        # and concurrent queries share one forward pass.
        self._embed_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._retriever: MicroBatcher[str, list[Hit]] = MicroBatcher(
            lambda queries: index.search_many(queries, settings.top_k), self._embed_executor,
            max_size=32, max_wait_s=0.002)

    def start(self) -> None:
        self._retriever.start()

    def close(self) -> None:
        self._retriever.stop()
        self._embed_executor.shutdown(wait=True)

    async def _retrieve(self, text: str) -> list[Hit]:
        return await self._retriever.submit(text)

    async def _generate(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        """The guarded LLM call: injected faults and one deadline apply to the whole call.

        The deadline wraps each wait for a piece, never a ``yield``: a timeout spanning a yield would
        cancel whatever the consumer awaits (a socket write) instead of raising TimeoutError here.
        """
        model = self.llm.name
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self._s.llm_timeout_s
        pieces = None
        first = True
        try:
            async with asyncio.timeout_at(deadline):
                await self.faults.apply_to_llm()
            pieces = aiter(self.llm.stream(prompt, max_tokens))
            while True:
                async with asyncio.timeout_at(deadline):
                    try:
                        piece = await anext(pieces)
                    except StopAsyncIteration:
                        break
                if first:
                    metrics.LLM_TTFT.labels(model=model).observe(loop.time() - start)
                    first = False
                yield piece
        finally:
            if pieces is not None:
                await pieces.aclose()
            # Timed-out and failed calls too, at the time they took: a histogram of finished calls
            # alone goes quiet exactly when the model is slowest, hiding the slowdown from the alert.
            metrics.LLM_DURATION.labels(model=model).observe(loop.time() - start)

    async def answer(self, text: str, max_tokens: int | None, key_id: str) -> AsyncIterator[Event]:
        t0 = time.perf_counter()
        request_id = uuid.uuid4().hex
        max_tokens = max_tokens or self._s.default_max_tokens
        key = cache_key(key_id, text, max_tokens)
        cached = await self.cache.get(key)
        if cached is not None:
            yield "token", cached["answer"]
            yield "done", {**cached, "request_id": request_id, "cached": True, "degraded": False,
                           "degraded_reason": None,
                           "timings": {"total_ms": _ms(time.perf_counter() - t0), "retrieval_ms": 0.0,
                                       "llm_ms": 0.0}}
            return

        t_ret = time.perf_counter()
        hits = await self._retrieve(text)
        retrieval_s = time.perf_counter() - t_ret
        context = "; ".join(h.passage.title for h in hits[:2])
        prompt = f"question: {text} context: {context} answer:"

        t_llm = time.perf_counter()
        pieces: list[str] = []
        reason: str | None = None
        try:
            self.breaker.before_call()
            async for piece in self._generate(prompt, max_tokens):
                pieces.append(piece)
                yield "token", piece
            self.breaker.record_success()
        except BreakerOpen:
            reason = "breaker_open"
        except TimeoutError:
            reason = "timeout"
        except (LLMError, InjectedLLMError):
            reason = "llm_error"
        if reason is not None:
            if reason != "breaker_open":
                self.breaker.record_failure()
            metrics.DEGRADED.labels(reason=reason).inc()
        llm_s = time.perf_counter() - t_llm

        body = {
            "request_id": request_id,
            "answer": fallback_answer(hits) if reason else "".join(pieces).strip(),
            "sources": [{"id": h.passage.id, "title": h.passage.title, "score": h.score} for h in hits],
            "cached": False, "degraded": reason is not None, "degraded_reason": reason,
            "model": self.llm.name,
            "timings": {"total_ms": _ms(time.perf_counter() - t0), "retrieval_ms": _ms(retrieval_s),
                        "llm_ms": _ms(llm_s)},
        }
        if reason is None:  # a degraded answer must not outlive the outage in the cache
            await self.cache.set(key, {k: body[k] for k in ("answer", "sources", "model")})
        yield "done", body
