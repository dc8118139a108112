"""The local backend generates with a real forward pass, plain, 4-bit (bitsandbytes) and compiled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from target_service.config import Settings
from target_service.llm.build import build_model
from target_service.llm.local import LocalLLM


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("tiny-llama"))


async def _generate(settings: Settings, prompts: list[str], n: int) -> list[list[str]]:
    llm = LocalLLM(settings)
    await llm.start()
    try:
        async def one(p: str) -> list[str]:
            return [piece async for piece in llm.stream(p, n)]
        return await asyncio.gather(*[one(p) for p in prompts])
    finally:
        await llm.close()


@pytest.mark.parametrize("flags", [{}, {"load_in_4bit": True}, {"torch_compile": True}])
def test_generates_requested_tokens(model_dir: Path, flags: dict[str, bool]) -> None:
    settings = Settings(model_dir=model_dir, max_batch_wait_ms=50, **flags)
    prompts = ["redis memory grows", "slow cold start", "redis memory grows"]
    answers = asyncio.run(_generate(settings, prompts, 6))
    for pieces in answers:
        assert len(pieces) == 6 and all(p.strip() and "[" not in p for p in pieces)  # no [unusedN]
    assert answers[0] == answers[2]  # greedy: same prompt, same answer, even inside one batch
