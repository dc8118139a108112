"""Dynamic batching (the local backend's batcher, ``max_batch_size`` 32) vs one request per
``generate`` (``max_batch_size`` 1): throughput with 16 and 64 requests arriving at once."""

from __future__ import annotations

import asyncio
import time

from benchmarks.core import Row, Variant, gain, interleave
from benchmarks.local import answer_all, local_settings, prompts, started

TOKENS = 16  # shorter than the service's 32 so the one-at-a-time side fits the time budget


def run(quick: bool = False) -> list[Row]:
    rows = []
    tokens = 4 if quick else TOKENS
    with asyncio.Runner() as runner:
        batched = runner.run(started(local_settings()))
        single = runner.run(started(local_settings(max_batch_size=1)))
        for concurrency in (16, 64):
            work = prompts(concurrency, offset=concurrency)
            runner.run(answer_all(batched, work[:2], tokens))  # warm both paths

            def throughput(llm, work: list[str] = work) -> float:  # noqa: ANN001 - a started LocalLLM
                t0 = time.perf_counter()
                runner.run(answer_all(llm, work, tokens))
                return len(work) / (time.perf_counter() - t0)

            base, opt = interleave(
                [
                    Variant("batch size 1", lambda: throughput(single)),
                    Variant(f"dynamic batch <= {batched._s.max_batch_size}", lambda: throughput(batched)),  # noqa: SLF001
                ],
                reps=2 if quick else 3,
                unit="req/s",
            )
            ratio = gain(base, opt)
            rows.append(
                Row(
                    benchmark="dynamic batching vs one at a time",
                    size=f"{concurrency} concurrent, {tokens} tokens",
                    baseline=base,
                    optimized=opt,
                    ratio=ratio,
                    ratio_text=f"{ratio:.1f}x throughput",
                    claim="(no figure)",
                    holds=None,
                    note="One torch thread per worker, as the service runs. A decode step of the tiny model"
                    " costs nearly the same for 1 or 32 rows, so throughput grows almost"
                    " with the batch size; 64 requests make two batches of 32.",
                )
            )
        runner.run(batched.close())
        runner.run(single.close())
    return rows
