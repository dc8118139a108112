"""What the diagnostics write to ``<run>/diagnostics/`` (one JSON line per snapshot) and the diagnosis.

Files: ``redis_info.jsonl`` (RedisSnapshot), ``stacks.jsonl`` (StackSample), ``memory_sites.jsonl``
(MemorySnapshot), ``gpu.jsonl`` (GpuSnapshot), ``ab_blocks.jsonl`` (DiagnosticsBlock: when the probes
were paused), ``summary.json`` (DiagnosticsSummary, with the cost of each probe), ``overhead.json``
(DiagnosticsOverhead: the service's P99 with and without them) and ``diagnosis.json`` (Diagnosis,
from the verdict and these files).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from harness.schemas.base import Contract, VersionedModel

REDIS_FILE = "redis_info.jsonl"
STACKS_FILE = "stacks.jsonl"
MEMORY_FILE = "memory_sites.jsonl"
GPU_FILE = "gpu.jsonl"
AB_FILE = "ab_blocks.jsonl"


class RedisSnapshot(Contract):
    t: float
    cost_s: float  # wall time of the INFO round trip (the probe's own overhead)
    error: str | None = None  # Redis unreachable: itself evidence (outage, connection refused)
    connected_clients: int | None = None
    blocked_clients: int | None = None
    maxclients: int | None = None
    rejected_connections: int | None = None  # cumulative: refused because maxclients was reached
    total_connections_received: int | None = None
    used_memory: int | None = None
    maxmemory: int | None = None
    evicted_keys: int | None = None
    keyspace_hits: int | None = None
    keyspace_misses: int | None = None
    hit_rate: float | None = None  # cumulative since Redis started


class Frame(Contract):
    model_config = ConfigDict(frozen=True)  # hashable: stacks are counted

    name: str
    file: str  # short file name as py-spy gives it, e.g. "target_service/agent.py"
    line: int
    code: str = ""  # the source line, when the file is readable here


class LoopState(StrEnum):
    idle = "idle"  # waiting for I/O: the event loop is free
    blocked = "blocked"  # running application code that waits in a sync call (sleep, socket, lock)
    cpu = "cpu"  # running application code on the CPU (holds the GIL)


class ThreadStack(Contract):
    thread: str
    active: bool  # py-spy: on the CPU (not waiting in a syscall)
    loop: LoopState | None = None  # None: not an event-loop thread
    frames: list[Frame]  # innermost first
    loop_frames: int = 0  # how many of the innermost frames run on the loop (application work)


class StackSample(Contract):
    t: float
    label: str  # e.g. the scenario, or "on-demand"
    pid: int
    cost_s: float  # wall time of the py-spy dump (the target is paused for part of it)
    error: str | None = None
    threads: list[ThreadStack] = Field(default_factory=list)


class AllocationSite(Contract):
    where: str  # "file:line"
    size_bytes: int
    count: int


class MemorySnapshot(Contract):
    t: float
    label: str  # "start" | "end" | ...
    cost_s: float
    error: str | None = None  # e.g. tracemalloc off (409)
    traced_bytes: int | None = None
    peak_bytes: int | None = None
    top: list[AllocationSite] = Field(default_factory=list)


class GpuProcess(Contract):
    pid: int
    used_bytes: int | None = None  # None where the driver hides per-process memory (some containers)


class GpuDevice(Contract):
    index: int
    name: str
    used_bytes: int  # device-wide, every process (what nvidia-smi shows)
    total_bytes: int
    utilization_percent: int | None = None
    processes_seen: int = 0  # compute processes NVML lists on the device (0 when it hides them)
    service_processes: list[GpuProcess] = Field(default_factory=list)  # those of the service under test


class GpuSnapshot(Contract):
    t: float
    label: str
    available: bool
    note: str = ""  # "no GPU" (and why) when NVML finds none
    devices: list[GpuDevice] = Field(default_factory=list)
    oom_lines: list[str] = Field(default_factory=list)  # the service log's out-of-memory lines (at the end)


class DiagnosticsBlock(Contract):
    """A stretch of a heavy phase with every probe running (on) or paused (off)."""

    label: str  # the heavy phase, e.g. the scenario
    start: float  # unix seconds
    end: float
    on: bool


class OverheadEstimate(Contract):
    """The service's P99 in the on blocks against the off blocks of one heavy scenario."""

    scenario: str
    blocks_on: int
    blocks_off: int
    requests_on: int
    requests_off: int
    p99_on_s: float | None
    p99_off_s: float | None
    added: float | None  # p99_on / p99_off - 1: what diagnostics add to P99 (negative: noise)
    added_ci: tuple[float, float] | None  # block bootstrap, 95%
    note: str = ""


class DiagnosticsOverhead(VersionedModel):
    FILE_NAME = "overhead.json"

    latency: str  # which latency was compared
    budget: float  # the share of P99 diagnostics may add
    scenarios: list[OverheadEstimate] = Field(default_factory=list)


class ProbeCost(Contract):
    samples: int = 0
    errors: int = 0
    mean_s: float | None = None
    max_s: float | None = None


class DiagnosticsSummary(VersionedModel):
    FILE_NAME = "summary.json"

    started: float
    ended: float
    redis: ProbeCost
    stacks: ProbeCost
    memory: ProbeCost
    gpu_available: bool | None = None


class Assessment(StrEnum):
    supported = "supported"
    ruled_out = "ruled out"
    inconclusive = "inconclusive"


class Evidence(Contract):
    source: str  # "py-spy", "redis INFO", "tracemalloc", "torch.cuda", "Prometheus series", "verdict"
    text: str  # one line
    detail: str = ""  # e.g. the stack, one frame per line, with its source line
    file: str = ""  # the diagnostics file it came from, relative to the run folder


class CauseAssessment(Contract):
    cause: str  # key: slow_llm | event_loop_blocked | event_loop_cpu | memory_leak | redis_pool | gpu_oom
    title: str  # e.g. "Blocking call on the event loop"
    fault_row: str  # the article's fault table row: symptom -> cause -> tool
    assessment: Assessment
    summary: str  # one line: why supported / ruled out
    remedy: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class ItemDiagnosis(Contract):
    item_id: str
    title: str
    status: str  # the item's status (fail, warn, no-data)
    symptom: str  # latency | throughput | memory | errors | missing series
    causes: list[CauseAssessment]  # supported first, then inconclusive, then ruled out
    # A no-data item whose query found no series: what it looked for and what exists instead. The
    # fault table's causes say nothing about a mapping that reads the wrong series, so none are given.
    explanation: str | None = None


class Diagnosis(VersionedModel):
    FILE_NAME = "diagnosis.json"

    run_id: str
    generated_at: float
    items: list[ItemDiagnosis] = Field(default_factory=list)
