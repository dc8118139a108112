"""The simulated backend's trace: one JSON line per call, naming the conversation the server set and the
first-token wait it modelled from the prompt's words (then jittered). Tests bound measured latency from
below by it, so it must say what the model really slept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson

from target_service.config import Settings
from target_service.llm.base import CONVERSATION
from target_service.llm.simulated import SimulatedLLM


def _answer(llm: SimulatedLLM, conversation: str, prompt: str) -> tuple[list[str], float]:
    async def one() -> list[str]:
        CONVERSATION.set(conversation)
        return [p async for p in llm.stream(prompt, 2)]

    t0 = time.monotonic()
    pieces = asyncio.run(one())
    return pieces, time.monotonic() - t0


def test_each_call_is_traced_with_its_conversation_and_modelled_wait(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    llm = SimulatedLLM(Settings(sim_ttft_s=0.01, sim_per_token_s=0.0, sim_jitter=0.5,
                                sim_prefill_per_token_s=0.002, max_prompt_tokens=5, sim_trace_path=trace))
    _, took_short = _answer(llm, "s-1", "one two three")
    _, took_long = _answer(llm, "s-2", "one two three four five six seven")  # cut at 5 words
    first, second = (orjson.loads(line) for line in trace.read_bytes().splitlines())
    assert (first["conversation"], first["words"]) == ("s-1", 3)
    assert (second["conversation"], second["words"]) == ("s-2", 5)
    assert abs(first["first_token_s"] - 0.016) < 1e-9 and abs(second["first_token_s"] - 0.02) < 1e-9
    for line, took in ((first, took_short), (second, took_long)):
        assert 0.5 * line["first_token_s"] <= line["waited_s"] <= 1.5 * line["first_token_s"]
        assert took >= line["waited_s"]  # what it says it waited, it did wait

