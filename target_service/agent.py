"""One turn's path: [session history] -> cache -> tools (retrieval, calculator, external API) -> LLM
(timeout, breaker, faults) -> fallback -> cache [-> session history]."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from target_service import metrics, tools
from target_service.batching import MicroBatcher
from target_service.cache import ResponseCache, cache_key
from target_service.config import Settings
from target_service.faults import FaultStore, InjectedLLMError
from target_service.llm.base import CONVERSATION, LLM, LLMError
from target_service.resilience import BreakerOpen, CircuitBreaker
from target_service.retrieval.index import Hit, PassageIndex
from target_service.sessions import History, SessionStore
from target_service.tools import ExternalAPI, ToolCall

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
        self.sessions = SessionStore(cache, settings.session_ttl_s, settings.session_max_turns)
        self.external = ExternalAPI(faults)
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

    async def _tools(self, text: str) -> tuple[list[Hit], list[ToolCall]]:
        """Retrieval always; the calculator and the external API when the question asks for them."""
        t_ret = time.perf_counter()
        hits = await self._retrieve(text)
        calls = [tools.record(tools.RETRIEVAL, "ok", time.perf_counter() - t_ret)]
        for name in tools.plan_tools(text):
            if name == tools.CALCULATOR:
                calls.append(await tools.timed(name, lambda: asyncio.to_thread(tools.calculate, text), None))
            else:
                timeout = self._s.tool_timeout_s or None
                calls.append(await tools.timed(name, lambda: self.external.call(text), timeout,
                                               fallback="no record available"))
        return hits, calls

    def _prompt(self, text: str, hits: list[Hit], calls: list[ToolCall], history: History | None) -> str:
        context = "; ".join(h.passage.title for h in hits[:2])
        results = "".join(f" {c.name}: {c.result}" for c in calls if c.result)
        past = history.as_prompt(self._s.history_max_chars) if history is not None else ""
        return f"{past}question: {text} context: {context}{results} answer:"

    async def _llm(self, prompt: str, max_tokens: int) -> AsyncIterator[Event]:
        """("token", piece) as generated, then ("end", why the call degraded or None)."""
        reason: str | None = None
        try:
            self.breaker.before_call()
            async for piece in self._generate(prompt, max_tokens):
                yield "token", piece
            self.breaker.record_success()
        except BreakerOpen:
            reason = "breaker_open"
        except TimeoutError:
            reason = "timeout"
        except (LLMError, InjectedLLMError):
            reason = "llm_error"
        if reason is not None and reason != "breaker_open":
            self.breaker.record_failure()
        yield "end", reason

    async def answer(self, text: str, max_tokens: int | None, key_id: str, session_id: str | None = None,
                     memory: bool = False) -> AsyncIterator[Event]:
        """One turn. With ``memory`` the session's history goes into the prompt (and the turn into it)."""
        t0 = time.perf_counter()
        CONVERSATION.set(session_id or "")
        max_tokens = max_tokens or self._s.default_max_tokens
        history = await self.sessions.load(key_id, session_id) if memory and session_id else None
        turn = _turn_fields(session_id, history)
        key = cache_key(key_id, text, max_tokens)
        # A turn that carries history is a new prompt: it never matches a cached answer.
        cached = await self.cache.get(key) if history is None or not history.turns else None
        if cached is not None:
            # Remembered before "done": a caller stops reading at "done", and code after it never runs.
            await self._remember(key_id, session_id, history, text, cached["answer"])
            yield "token", cached["answer"]
            yield "done", {**cached, "request_id": uuid.uuid4().hex, "cached": True, "degraded": False,
                           "degraded_reason": None, "tool_calls": [], **turn,
                           "timings": {"total_ms": _ms(time.perf_counter() - t0), "retrieval_ms": 0.0,
                                       "llm_ms": 0.0}}
            return

        hits, calls = await self._tools(text)
        t_llm = time.perf_counter()
        pieces: list[str] = []
        llm_reason: str | None = None
        async for kind, value in self._llm(self._prompt(text, hits, calls, history), max_tokens):
            if kind == "token":
                pieces.append(value)
                yield "token", value
            else:
                llm_reason = value
        llm_s = time.perf_counter() - t_llm
        failed_tool = next((c for c in calls if c.status != "ok"), None)
        reason = llm_reason or (f"tool_{failed_tool.status}" if failed_tool else None)
        if reason is not None:
            metrics.DEGRADED.labels(reason=reason).inc()
        body = {
            "request_id": uuid.uuid4().hex,
            "answer": fallback_answer(hits) if llm_reason else "".join(pieces).strip(),
            "sources": [{"id": h.passage.id, "title": h.passage.title, "score": h.score} for h in hits],
            "cached": False, "degraded": reason is not None, "degraded_reason": reason,
            "model": self.llm.name, "tool_calls": [c.public() for c in calls], **turn,
            "timings": {"total_ms": _ms(time.perf_counter() - t0),
                        "retrieval_ms": calls[0].latency_ms, "llm_ms": _ms(llm_s)},
        }
        if reason is None and (history is None or not history.turns):  # never cache a degraded answer
            await self.cache.set(key, {k: body[k] for k in ("answer", "sources", "model")})
        await self._remember(key_id, session_id, history, text, body["answer"])
        yield "done", body

    async def _remember(self, key_id: str, session_id: str | None, history: History | None, text: str,
                        answer: str) -> None:
        if history is not None and session_id is not None:
            metrics.SESSION_TURN.observe(history.turn)
            await self.sessions.append(key_id, session_id, text, answer)


def _turn_fields(session_id: str | None, history: History | None) -> dict[str, Any]:
    """What the response says about the conversation (nothing for a request without memory)."""
    if history is None:
        return {}
    return {"session_id": session_id, "turn": history.turn,
            "memory": "ok" if history.available else "unavailable"}
