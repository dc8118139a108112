"""A Redis cache hit vs a full answer, through the service's own request path (``Agent.answer``):
real redis-server, real MiniLM retrieval, the local model. The miss asks a question never seen
before (embedding, HNSW, 32 tokens, cache write); the hit asks one already answered."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from benchmarks.core import Row, Variant, clock, interleave, speedup
from benchmarks.local import local_settings, prompts, started
from harness.stack.redis import start_redis
from target_service.agent import Agent
from target_service.cache import ResponseCache
from target_service.faults import FaultStore
from target_service.resilience import CircuitBreaker
from target_service.retrieval.embedder import Embedder
from target_service.retrieval.index import PassageIndex

KEY_ID = "bench"


async def _build(redis_url: str, state_dir: Path) -> Agent:
    s = local_settings(redis_url=redis_url, state_dir=state_dir)
    faults = FaultStore(state_dir, s.faults_poll_s)
    cache = ResponseCache(
        s.redis_url, s.cache_ttl_s, s.redis_max_connections, s.redis_timeout_s, s.redis_retry_after_s, faults
    )
    index = await asyncio.to_thread(
        lambda: PassageIndex(Embedder(s.embedding_cache_size, s.torch_threads), s.cache_dir, s.hnsw_ef)
    )
    llm = await started(s)
    agent = Agent(
        s,
        llm,
        index,
        cache,
        CircuitBreaker(s.breaker_failure_threshold, s.breaker_reset_s, s.breaker_half_open_max),
        faults,
    )
    agent.start()
    return agent


async def _ask(agent: Agent, text: str) -> dict[str, object]:
    async for kind, value in agent.answer(text, None, KEY_ID):
        if kind == "done":
            return value
    raise RuntimeError("the agent gave no answer")


async def _close(agent: Agent) -> None:
    agent.close()
    await agent.llm.close()
    await agent.cache.close()


def run(quick: bool = False) -> list[Row]:
    reps = 4 if quick else 10
    fresh = iter(f"{p} (variant {i})" for i, p in enumerate(prompts(reps + 2, offset=300)))
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        redis, url = start_redis(Path(tmp) / "redis")
        try:
            with asyncio.Runner() as runner:
                agent = runner.run(_build(url, Path(tmp) / "state"))
                popular = next(fresh)
                first = runner.run(_ask(agent, next(fresh)))  # warms the model and retrieval paths
                runner.run(_ask(agent, popular))
                outcomes: list[tuple[bool, bool]] = []

                def ask(text_of) -> None:  # noqa: ANN001 - a function giving the question
                    body = runner.run(_ask(agent, text_of()))
                    outcomes.append((bool(body["cached"]), bool(body["degraded"])))

                base, opt = interleave(
                    [
                        Variant("full answer (miss)", clock(lambda: ask(lambda: next(fresh)))),
                        Variant("Redis cache hit", clock(lambda: ask(lambda: popular))),
                    ],
                    reps,
                )
                runner.run(_close(agent))
        finally:
            redis.stop()
    hits = sum(c for c, _ in outcomes)
    if hits != reps or any(d for _, d in outcomes) or first["degraded"]:
        raise RuntimeError(f"expected {reps} hits and no degraded answers, got {outcomes}")
    ratio = speedup(base, opt)
    return [
        Row(
            benchmark="Redis cache hit vs full answer",
            size="Agent.answer, local backend, 32 tokens",
            baseline=base,
            optimized=opt,
            ratio=ratio,
            ratio_text=f"{ratio:.0f}x faster",
            claim="(no figure)",
            holds=None,
            note="Both sides run the service's request path in-process (no HTTP); the hit is one Redis "
            "GET over the pooled asyncio client plus orjson.",
        )
    ]
