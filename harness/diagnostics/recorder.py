"""``DiagnosticsRecorder``: a background thread beside each scenario writing evidence to the run folder.

recorder = DiagnosticsRecorder(run_folder.diagnostics_dir, redis_url=..., service_pid=...,
                               target=TargetClient.of(endpoints))
recorder.start()
with recorder.heavy("target_2x"):        # py-spy every stack_interval_s while this runs, and with
    run_scenario("target_2x", ...)       # ab_block_s set, on and off in alternate blocks (overhead.py)
recorder.memory_sites("soak-start")      # tracemalloc top sites via /admin/memory
recorder.capture_stacks("p99 failed")   # on demand
recorder.stop()                          # writes summary.json (the probes' own cost)
"""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from pydantic import BaseModel, ConfigDict, Field

from harness.diagnostics import snapshots, stacks
from harness.diagnostics.gpu import gpu_snapshot, oom_lines
from harness.errors import BinaryNotFoundError
from harness.schemas.diagnostics import (
    AB_FILE,
    GPU_FILE,
    MEMORY_FILE,
    REDIS_FILE,
    STACKS_FILE,
    DiagnosticsBlock,
    DiagnosticsSummary,
    GpuSnapshot,
    MemorySnapshot,
    ProbeCost,
    RedisSnapshot,
    StackSample,
)
from harness.schemas.jsonl import append_jsonl, read_jsonl
from harness.target.client import TargetClient


class DiagnosticsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    redis_interval_s: float = Field(5.0, gt=0)
    # py-spy pauses the service for a few ms per dump: often in the heavy phase, rarely otherwise.
    stack_interval_s: float = Field(2.0, gt=0, description="py-spy dumps while a heavy phase runs")
    background_stack_interval_s: float = Field(15.0, ge=0, description="outside heavy phases; 0 = never")
    # py-spy --nonblocking: the service is not paused, at the price of an occasional torn stack (a
    # dump error). A paused service delays every request in flight, and with dumps every 2 s far more
    # than 1% of requests meet one: blocking dumps moved the quick gate's P99 by +8% (their ~20 ms).
    nonblocking: bool = True
    gpu: bool = True
    gpu_interval_s: float = Field(5.0, gt=0, description="NVML samples, when NVML found a GPU at start")
    # > 0: in a heavy phase, every probe pauses in alternate blocks this long (the first one on or
    # off at random), so one run measures the service's latency both with and without diagnostics.
    ab_block_s: float = Field(0.0, ge=0)


class DiagnosticsRecorder:
    def __init__(
        self,
        out_dir: Path,
        *,
        redis_url: str | None = None,
        service_pid: int | None = None,
        target: TargetClient | None = None,
        service_log: Path | None = None,
        settings: DiagnosticsSettings | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.settings = settings or DiagnosticsSettings()
        self.service_pid = service_pid
        self.target = target
        self.service_log = service_log
        self._gpu_seen = False
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=1.0) if redis_url else None
        self._heavy: str | None = None
        self._heavy_started = 0.0  # monotonic
        self._first_block_on = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._py_spy_error: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> DiagnosticsRecorder:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._started = time.time()
        if self.settings.gpu:
            self._gpu_seen = self._record_gpu("start").available
        self._thread = threading.Thread(target=self._loop, name="diagnostics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> DiagnosticsSummary:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._redis is not None:
            self._record_redis()
            self._redis.close()
        gpu_available = None
        if self.settings.gpu:
            ooms = oom_lines(self.service_log) if self.service_log else []
            gpu_available = self._record_gpu("end", ooms).available
        summary = self.summary(gpu_available)
        summary.save_file(self.out_dir)
        return summary

    def __enter__(self) -> DiagnosticsRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the pipeline calls ----------------------------------------------------------------------
    @contextlib.contextmanager
    def heavy(self, label: str) -> Iterator[None]:
        """Sample stacks every ``stack_interval_s`` while the block runs (the heaviest phase)."""
        began, began_mono = time.time(), time.monotonic()
        self._first_block_on = random.random() < 0.5
        self._heavy_started = began_mono
        self._heavy = label
        try:
            yield
        finally:
            self._heavy = None
            if self.settings.ab_block_s:
                self._write_blocks(label, began, time.monotonic() - began_mono)

    def probing(self, now: float) -> bool:
        """False in a heavy phase's off blocks (see DiagnosticsSettings.ab_block_s)."""
        block = self.settings.ab_block_s
        if not (self._heavy and block):
            return True
        return (int((now - self._heavy_started) // block) % 2 == 0) == self._first_block_on

    def _write_blocks(self, label: str, began: float, length_s: float) -> None:
        block = self.settings.ab_block_s
        for k in range(int(length_s // block) + 1):
            start = k * block
            if start >= length_s:
                break
            append_jsonl(self.out_dir / AB_FILE, DiagnosticsBlock(
                label=label, start=began + start, end=began + min(start + block, length_s),
                on=(k % 2 == 0) == self._first_block_on))

    def capture_stacks(self, label: str = "on-demand", pids: list[int] | None = None) -> list[StackSample]:
        """Dump the service's Python processes now (or ``pids``); recorded, and returned."""
        if pids is None:
            pids = stacks.python_pids(self.service_pid) if self.service_pid else []
        if self._py_spy_error:
            return []
        try:
            samples = stacks.capture_stacks(pids, label, nonblocking=self.settings.nonblocking)
        except BinaryNotFoundError as exc:
            # Recorded once in the summary's error count; the run goes on without stacks.
            self._py_spy_error = str(exc)
            samples = [
                StackSample(t=time.time(), label=label, pid=pid, cost_s=0.0, error=str(exc))
                for pid in pids[:1]
            ]
        for sample in samples:
            append_jsonl(self.out_dir / STACKS_FILE, sample)
        return samples

    def memory_sites(self, label: str) -> MemorySnapshot | None:
        """Top allocation sites of the service (None when there is no service URL to ask)."""
        if self.target is None:
            return None
        snapshot = snapshots.memory_sites(self.target, label)
        append_jsonl(self.out_dir / MEMORY_FILE, snapshot)
        return snapshot

    # -- the background thread ----------------------------------------------------------------------
    def _record_redis(self) -> None:
        if self._redis is not None:
            append_jsonl(self.out_dir / REDIS_FILE, snapshots.redis_snapshot(self._redis))

    def _record_gpu(self, label: str, ooms: list[str] | None = None) -> GpuSnapshot:
        pids = stacks.python_pids(self.service_pid) if self.service_pid else []
        snapshot = gpu_snapshot(label, pids)
        snapshot.oom_lines = ooms or []
        append_jsonl(self.out_dir / GPU_FILE, snapshot)
        return snapshot

    def _loop(self) -> None:
        s = self.settings
        next_redis = next_stacks = next_gpu = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            probing = self.probing(now)
            if probing and now >= next_redis:
                self._record_redis()
                next_redis = now + s.redis_interval_s
            if probing and self._gpu_seen and now >= next_gpu:
                self._record_gpu(self._heavy or "background")
                next_gpu = now + s.gpu_interval_s
            interval = s.stack_interval_s if self._heavy else s.background_stack_interval_s
            if probing and self.service_pid and interval and now >= next_stacks:
                self.capture_stacks(self._heavy or "background")
                next_stacks = now + interval
            self._stop.wait(min(0.25, s.stack_interval_s))

    def summary(self, gpu_available: bool | None = None) -> DiagnosticsSummary:
        def cost(costs: list[tuple[float, bool]]) -> ProbeCost:
            ok = [c for c, failed in costs if not failed]
            return ProbeCost(
                samples=len(costs),
                errors=sum(failed for _, failed in costs),
                mean_s=statistics.fmean(ok) if ok else None,
                max_s=max(ok) if ok else None,
            )

        redis_rows = read_jsonl(self.out_dir / REDIS_FILE, RedisSnapshot)
        stack_rows = read_jsonl(self.out_dir / STACKS_FILE, StackSample)
        memory_rows = read_jsonl(self.out_dir / MEMORY_FILE, MemorySnapshot)
        return DiagnosticsSummary(
            started=self._started,
            ended=time.time(),
            redis=cost([(r.cost_s, r.error is not None) for r in redis_rows]),
            stacks=cost([(r.cost_s, r.error is not None) for r in stack_rows]),
            memory=cost([(r.cost_s, r.error is not None) for r in memory_rows]),
            gpu_available=gpu_available,
        )
