"""No compute, only time: a latency model for capacity what-ifs (TTFT + per-token time, jittered; with
``sim_prefill_per_token_s`` the first token also waits for the prompt to be read, word by word)."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator

import orjson

from target_service.config import Settings
from target_service.llm.base import CONVERSATION, LLM

_WORDS = ("the", "service", "answer", "cache", "latency", "agent", "request", "model", "token", "index",
          "retry", "queue", "batch", "worker", "memory", "timeout", "budget", "error", "load", "replica")


class SimulatedLLM(LLM):
    def __init__(self, settings: Settings) -> None:
        self.name = "simulated"
        self._ttft = settings.sim_ttft_s
        self._per_token = settings.sim_per_token_s
        self._jitter = settings.sim_jitter
        self._prefill = settings.sim_prefill_per_token_s
        self._max_prompt = settings.max_prompt_tokens
        self._trace = settings.sim_trace_path

    def _jittered(self, seconds: float) -> float:
        return seconds * random.uniform(1 - self._jitter, 1 + self._jitter)

    def _first_token_wait(self, prompt: str) -> float:
        # Words stand in for tokens (no tokenizer here); cut where the real model truncates the prompt.
        words = min(len(prompt.split()), self._max_prompt)
        modelled = self._ttft + self._prefill * words
        waited = self._jittered(modelled)
        if self._trace is not None:
            line = {"conversation": CONVERSATION.get(), "words": words, "first_token_s": modelled,
                    "waited_s": waited}
            with self._trace.open("ab") as out:
                out.write(orjson.dumps(line) + b"\n")
        return waited

    async def stream(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        # Deterministic text per prompt, so cached and fresh answers to one prompt agree.
        rng = random.Random(hashlib.sha256(prompt.encode()).digest())
        await asyncio.sleep(self._first_token_wait(prompt))
        for i in range(max_tokens):
            if i:
                await asyncio.sleep(self._jittered(self._per_token))
            yield (" " if i else "") + rng.choice(_WORDS)
