"""The reference service's local backend (``target_service.llm.local.LocalLLM``), driven directly."""

from __future__ import annotations

import asyncio

from harness.load.corpus import load_prompts
from target_service.config import Settings
from target_service.llm.local import LocalLLM

MAX_TOKENS = 32  # the service's default answer length (AGENT_DEFAULT_MAX_TOKENS)


def local_settings(**overrides: object) -> Settings:
    return Settings(llm_backend="local", **overrides)


async def started(settings: Settings) -> LocalLLM:
    llm = LocalLLM(settings)
    await llm.start()
    return llm


async def answer(llm: LocalLLM, prompt: str, max_tokens: int = MAX_TOKENS) -> str:
    return "".join([piece async for piece in llm.stream(prompt, max_tokens)])


async def answer_all(llm: LocalLLM, prompts: list[str], max_tokens: int = MAX_TOKENS) -> list[str]:
    """All prompts at once, as concurrent requests would arrive."""
    return await asyncio.gather(*(answer(llm, p, max_tokens) for p in prompts))


def prompts(n: int, offset: int = 0) -> list[str]:
    pool = load_prompts()
    return [f"question: {pool[(offset + i) % len(pool)]} context: answer:" for i in range(n)]
