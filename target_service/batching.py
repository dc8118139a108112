"""Dynamic batching: gather what is queued into one batch, waiting briefly for company."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def gather_batch(queue: asyncio.Queue[T], max_size: int, max_wait_s: float) -> list[T]:
    """Waits for one item, then takes more until ``max_size`` or ``max_wait_s`` after the first."""
    batch = [await queue.get()]
    deadline = time.monotonic() + max_wait_s
    while len(batch) < max_size:
        try:
            batch.append(queue.get_nowait())
            continue
        except asyncio.QueueEmpty:
            pass
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(queue.get(), remaining))
        except TimeoutError:
            break
    return batch


class MicroBatcher(Generic[T, R]):
    """Callers ``await submit(item)``; a blocking ``fn(items) -> results`` runs once per batch in
    ``executor``, off the event loop."""

    def __init__(self, fn: Callable[[list[T]], list[R]], executor: Executor, max_size: int,
                 max_wait_s: float) -> None:
        self._fn, self._executor = fn, executor
        self._max_size, self._max_wait_s = max_size, max_wait_s
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="micro-batcher")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [(i, f) for i, f in await gather_batch(self._queue, self._max_size, self._max_wait_s)
                     if not f.done()]  # a caller that gave up (timeout, disconnect) is skipped
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._fn, [i for i, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter must hear about it
                for _, f in batch:
                    if not f.done():
                        f.set_exception(exc)
                continue
            for (_, f), r in zip(batch, results, strict=True):
                if not f.done():
                    f.set_result(r)
