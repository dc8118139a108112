"""A real transformers causal LM (CPU or CUDA: ``placement.py``), with dynamic batching and token streaming.

Requests queue up; one batcher task takes up to ``max_batch_size`` of them (waiting at most
``max_batch_wait_ms`` for company) and runs a single ``generate`` in a worker thread. A streamer
hands every step's tokens back to the event loop, into one queue per request, so time to first
token is real and the loop is never blocked by compute.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from target_service import metrics
from target_service.batching import gather_batch
from target_service.config import Settings
from target_service.llm.base import LLM, LLMError
from target_service.llm.build import ensure_model
from target_service.llm.placement import Placement, detect_placement

_DONE = None  # end-of-stream marker in a request's token queue


@dataclass
class _Pending:
    prompt: str
    max_tokens: int
    tokens: asyncio.Queue[int | BaseException | None] = field(default_factory=asyncio.Queue)
    cancelled: bool = False
    produced: int = 0


class _BatchStreamer:
    """transformers streamer for a whole batch: fans each step's tokens out to the requests."""

    def __init__(self, batch: list[_Pending], loop: asyncio.AbstractEventLoop) -> None:
        self._batch, self._loop = batch, loop
        self._prompt_seen = False

    def put(self, value) -> None:  # noqa: ANN001 - a torch tensor, typed loosely to avoid the import
        if not self._prompt_seen:  # generate() first echoes the prompt ids
            self._prompt_seen = True
            return
        for req, tok in zip(self._batch, value.view(-1).tolist(), strict=True):
            if req.produced < req.max_tokens and not req.cancelled:
                req.produced += 1
                self._loop.call_soon_threadsafe(req.tokens.put_nowait, tok)

    def end(self) -> None:
        pass


class LocalLLM(LLM):
    def __init__(self, settings: Settings) -> None:
        self.name = settings.model_name
        self._s = settings
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        # One thread: torch runs with few threads and batches, not parallel generate() calls, use them.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")
        self.model = None
        self.tokenizer = None
        self.placement: Placement | None = None

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(self._s.torch_threads)
        placement = detect_placement(self._s)
        path = ensure_model(self._s.model_dir)
        dtype = getattr(torch, placement.dtype)
        if placement.quantization == "nf4":
            from transformers import BitsAndBytesConfig
            quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                       bnb_4bit_compute_dtype=dtype)
            # On the CPU bitsandbytes places the model itself; a device map there reads as an offload.
            on_gpu = {"device_map": {"": placement.device}} if placement.device != "cpu" else {}
            model = AutoModelForCausalLM.from_pretrained(path, quantization_config=quant, dtype=dtype,
                                                         **on_gpu)
        else:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(placement.device)
        model.eval()
        if placement.static_cache:
            # transformers compiles the decoding step itself when the KV cache is static.
            model.generation_config.cache_implementation = "static"
        elif placement.compiled:
            model.forward = torch.compile(model.forward)
        tokenizer = AutoTokenizer.from_pretrained(path)
        tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        tokenizer.truncation_side = "left"  # a long conversation loses its oldest words, not the question
        # Never generate "[unused12]", "[SEP]" and the like: the answer should read as words.
        self._suppress = [i for t, i in tokenizer.get_vocab().items() if t.startswith("[")]
        self._pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        self.model, self.tokenizer, self.placement = model, tokenizer, placement

    def describe(self) -> dict[str, object]:
        described = super().describe()
        if self.placement is not None:
            described.update(self.placement.model_dump())
        return described

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._batcher(), name="llm-batcher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._executor.shutdown(wait=True)

    async def _next_batch(self) -> list[_Pending]:
        assert self._queue is not None
        batch = await gather_batch(self._queue, self._s.max_batch_size, self._s.max_batch_wait_ms / 1000)
        return [r for r in batch if not r.cancelled]

    async def _batcher(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            metrics.LLM_BATCH.observe(len(batch))
            try:
                await loop.run_in_executor(self._executor, self._generate, batch, loop)
                for req in batch:
                    req.tokens.put_nowait(_DONE)
            except Exception as exc:  # noqa: BLE001 - every waiter must hear about it
                for req in batch:
                    req.tokens.put_nowait(LLMError(f"generate failed: {exc!r}"))

    def _generate(self, batch: list[_Pending], loop: asyncio.AbstractEventLoop) -> None:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _RowsDone(StoppingCriteria):
            """A row stops when its request has all its tokens or went away (timeout, disconnect)."""

            def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001, ANN204
                done = [r.cancelled or r.produced >= r.max_tokens for r in batch]
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        enc = self.tokenizer([r.prompt for r in batch], return_tensors="pt", padding=True,
                             truncation=True, max_length=self._s.max_prompt_tokens,
                             return_token_type_ids=False).to(self.model.device)
        with torch.inference_mode():
            self.model.generate(
                **enc, max_new_tokens=max(r.max_tokens for r in batch), do_sample=False,
                eos_token_id=None, pad_token_id=self.tokenizer.pad_token_id, suppress_tokens=self._suppress,
                streamer=_BatchStreamer(batch, loop), stopping_criteria=StoppingCriteriaList([_RowsDone()]),
            )

    async def stream(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        assert self._queue is not None, "start() not called"
        req = _Pending(prompt, max_tokens)
        self._queue.put_nowait(req)
        first = True
        try:
            while True:
                item = await req.tokens.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                # WordPiece: "##ing" continues the previous word, anything else starts a new one.
                # A table lookup per token; re-decoding the whole answer each step costs the event loop
                # (and the generate thread, through the GIL) far more under a batch.
                piece = self._pieces[item]
                if piece.startswith("##"):
                    piece = piece[2:]
                elif not first:
                    piece = " " + piece
                first = False
                yield piece
        finally:
            req.cancelled = True  # no-op when finished; frees the batch row on timeout or disconnect
