"""One configuration of the service's ``local`` backend in a process of its own, as the service runs
it: load, answer one warm-up batch, time ``--rounds`` batches, print one JSON line, then hold the
model (and its GPU memory) until a line arrives on stdin, so the parent can read NVML meanwhile.

Run by ``benchmarks/gpu_check.py``; imports only torch, transformers and the service's backend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.model_bytes import linear_bytes, module_bytes
from target_service.config import Settings
from target_service.llm.local import LocalLLM


def _prompts(n: int) -> list[str]:
    topics = ("redis memory grows", "slow cold start", "p99 latency spikes", "circuit breaker opens")
    return [f"question {i}: why does {topics[i % len(topics)]}? answer:" for i in range(n)]


async def _batch(llm: LocalLLM, prompts: list[str], max_tokens: int) -> list[int]:
    async def one(prompt: str) -> int:
        return sum([1 async for _ in llm.stream(prompt, max_tokens)])
    return await asyncio.gather(*(one(p) for p in prompts))


async def _measure_and_hold(args: argparse.Namespace) -> None:
    import torch

    settings = Settings(llm_backend="local", model_dir=args.model_dir, dtype=args.dtype,
                        load_in_4bit=args.four_bit, torch_compile=args.compile, max_batch_size=args.batch,
                        max_batch_wait_ms=50, torch_threads=max(1, (os.cpu_count() or 2) // 2))
    llm = LocalLLM(settings)
    t0 = time.perf_counter()
    await llm.start()
    load_s = time.perf_counter() - t0
    prompts = _prompts(args.batch)
    warm = await _batch(llm, prompts, args.max_tokens)  # compilation and CUDA graphs happen here
    t0 = time.perf_counter()
    produced = 0
    for _ in range(args.rounds):
        produced += sum(await _batch(llm, prompts, args.max_tokens))
    elapsed = time.perf_counter() - t0
    cuda = torch.cuda.is_available()
    result = {
        "pid": os.getpid(), "torch": torch.__version__, "placement": llm.describe(),
        "load_s": round(load_s, 2),
        "answered": sum(1 for n in warm if n == args.max_tokens), "batch": args.batch,
        "tokens_per_s": round(produced / elapsed, 1), "model_bytes": module_bytes(llm.model),
        "linear_bytes": linear_bytes(llm.model),
        "torch_reserved_bytes": torch.cuda.memory_reserved() if cuda else None,
        "torch_allocated_bytes": torch.cuda.memory_allocated() if cuda else None,
    }
    print(json.dumps(result), flush=True)
    # Hold the model, and its GPU memory, until the parent has read NVML.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await llm.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--four-bit", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    asyncio.run(_measure_and_hold(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
