"""Symptom -> likely causes -> the captured evidence for or against each (the article's fault table).

Fault table (reference article, 3.1), as used here:

    symptom                 cause                            evidence read
    memory keeps growing    leak                             tracemalloc top sites, start vs end
    latency spikes          slow LLM                         LLM P95 series in the item's window
    throughput stuck        GIL / blocking call on the loop  py-spy stacks of the event-loop thread
    Redis connection fails  connection pool exhausted        Redis INFO: clients, rejected, errors
    inference OOM           GPU memory                       torch.cuda device memory
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from harness.diagnostics.stacks import LoopProfile, format_frame, format_stack, loop_profile
from harness.schemas.checklist import Checklist
from harness.schemas.diagnostics import (
    GPU_FILE,
    MEMORY_FILE,
    REDIS_FILE,
    STACKS_FILE,
    Assessment,
    CauseAssessment,
    Diagnosis,
    Evidence,
    GpuSnapshot,
    ItemDiagnosis,
    LoopState,
    MemorySnapshot,
    RedisSnapshot,
    StackSample,
)
from harness.schemas.jsonl import read_jsonl
from harness.schemas.run import RunFolder
from harness.schemas.verdict import ItemResult, ItemStatus, SeriesSet, Verdict

MiB = 1024 * 1024
# Thresholds of the judgement, in one place. A loop blocked in a fifth of the samples is a lot: a
# healthy async service spends nearly all its samples waiting for I/O.
BLOCKED_SHARE = 0.2
CPU_SHARE = 0.5
FREE_SHARE = 0.95  # at least this share idle rules the loop out
LLM_FLAT_RATIO = 1.5  # max / median of the LLM P95 series under which it counts as flat
LLM_EXPLAINS_SHARE = 0.5  # LLM P95 at half the measured latency or more can explain it
LEAK_MIN_BYTES = 1 * MiB
GPU_FULL_SHARE = 0.95

_MEASURE_SYMPTOM = {
    "p99_latency": "latency",
    "client_p99": "latency",
    "max_latency": "latency",
    "llm_p95": "latency",
    "throughput_ratio": "throughput",
    "memory_trend": "memory",
    "error_rate": "errors",
    "client_error_rate": "errors",
}
_KEYWORD_SYMPTOM = [
    (r"memory|leak|rss", "memory"),
    (r"latency|p99|p95|timeout|slow", "latency"),
    (r"throughput|qps|load|concurren", "throughput"),
    (r"error|redis|5xx", "errors"),
]


def symptom_of(item: ItemResult, measure: str | None) -> str | None:
    if measure in _MEASURE_SYMPTOM:
        return _MEASURE_SYMPTOM[measure]
    text = f"{item.id} {item.title}".lower()
    return next((symptom for pattern, symptom in _KEYWORD_SYMPTOM if re.search(pattern, text)), None)


class Captured:
    """The diagnostics folder and the series, read once, windowed per item."""

    def __init__(self, diagnostics_dir: Path, series: SeriesSet | None) -> None:
        self.dir = Path(diagnostics_dir)
        self.series = series
        self.stacks = read_jsonl(self.dir / STACKS_FILE, StackSample)
        self.redis = read_jsonl(self.dir / REDIS_FILE, RedisSnapshot)
        self.memory = read_jsonl(self.dir / MEMORY_FILE, MemorySnapshot)
        self.gpu = read_jsonl(self.dir / GPU_FILE, GpuSnapshot)

    def file(self, name: str) -> str:
        return f"{self.dir.name}/{name}"


def _in_window(rows: list, item: ItemResult) -> list:
    if item.window is None:
        return rows
    return [r for r in rows if item.window.start <= r.t <= item.window.end]


# -- one assessment per cause -----------------------------------------------------------------------


def _loop_evidence(profile: LoopProfile, state: LoopState, ev: Captured) -> list[Evidence]:
    """What py-spy saw: the loop's states, the two commonest stacks in ``state``, the CPU's hot frames."""
    n = profile.loop_samples
    counts = (
        f"{profile.states[LoopState.blocked]} blocked in a sync call, {profile.states[LoopState.cpu]} "
        f"on the CPU, {profile.states[LoopState.idle]} free, of {n} event-loop samples"
    )
    evidence = [Evidence(source="py-spy", text=counts, file=ev.file(STACKS_FILE))]
    for frames, count in profile.top(state, 2):
        innermost = format_frame(frames[0]) if frames else "?"
        evidence.append(
            Evidence(
                source="py-spy",
                file=ev.file(STACKS_FILE),
                detail=format_stack(list(frames)),
                text=f"{count}/{n} samples on the loop in {innermost}",
            )
        )
    if profile.hot_frames:
        hot = ", ".join(f"{format_frame(f)} ×{c}" for f, c in profile.hot_frames.most_common(3))
        evidence.append(
            Evidence(
                source="py-spy", text=f"where the CPU went (any thread): {hot}", file=ev.file(STACKS_FILE)
            )
        )
    return evidence


def event_loop(item: ItemResult, ev: Captured) -> CauseAssessment:
    row = "throughput stuck / latency -> GIL or blocking call on the event loop -> py-spy"
    base = {
        "fault_row": row,
        "remedy": "move sync work off the loop (async client, asyncio.to_thread, "
        "a process pool); more worker processes",
    }
    samples = _in_window(ev.stacks, item)
    profile = loop_profile(samples)
    if profile.loop_samples == 0:
        why = (
            f"py-spy failed: {profile.errors[-1]}"
            if profile.errors
            else "no py-spy sample of an event loop in the item's window"
        )
        return CauseAssessment(
            cause="event_loop_blocked",
            title="Blocking call on the event loop",
            assessment=Assessment.inconclusive,
            summary=why,
            **base,
        )
    blocked, cpu = profile.share(LoopState.blocked), profile.share(LoopState.cpu)
    state = LoopState.blocked if blocked >= cpu else LoopState.cpu
    evidence = _loop_evidence(profile, state, ev)
    if blocked >= BLOCKED_SHARE and state == LoopState.blocked:
        top = profile.top(LoopState.blocked, 1)[0][0]
        return CauseAssessment(
            cause="event_loop_blocked",
            title="Blocking call on the event loop",
            assessment=Assessment.supported,
            summary=f"the event loop waited in a sync call in {blocked:.0%} of samples, at "
            f"{format_frame(top[0])}: every other request waits meanwhile",
            evidence=evidence,
            **base,
        )
    if cpu >= CPU_SHARE or (blocked >= BLOCKED_SHARE and state == LoopState.cpu):
        top = profile.top(LoopState.cpu, 1)[0][0]
        return CauseAssessment(
            cause="event_loop_cpu",
            title="CPU-bound work on the event loop (GIL)",
            assessment=Assessment.supported,
            summary=f"the event loop ran Python on the CPU in {cpu:.0%} of samples, mostly "
            f"{format_frame(top[0])}",
            evidence=evidence,
            **base,
        )
    free = profile.share(LoopState.idle)
    verdict = Assessment.ruled_out if free >= FREE_SHARE else Assessment.inconclusive
    return CauseAssessment(
        cause="event_loop_blocked",
        title="Blocking call on the event loop",
        assessment=verdict,
        summary=f"the event loop was free in {free:.0%} of samples",
        evidence=evidence,
        **base,
    )


def slow_llm(item: ItemResult, ev: Captured) -> CauseAssessment:
    base = {
        "cause": "slow_llm",
        "title": "Slow LLM",
        "fault_row": "latency spikes -> LLM latency -> tracing",
        "remedy": "a timeout on the model call and a degraded answer (circuit breaker)",
    }
    points = []
    if ev.series is not None and item.window is not None:
        for s in ev.series.series:
            if s.name == "llm_p95" and s.scenario == item.window.scenario:
                points += [v for t, v in s.points if item.window.start <= t <= item.window.end and v == v]
    if not points:
        return CauseAssessment(
            assessment=Assessment.inconclusive,
            summary="no LLM latency series (llm_p95) in the item's window",
            **base,
        )
    median, peak = statistics.median(points), max(points)
    text = f"LLM P95 over the window: median {median:.2f} s, max {peak:.2f} s ({len(points)} points)"
    evidence = [Evidence(source="Prometheus series", text=text, file="series.json")]
    flat = peak <= LLM_FLAT_RATIO * median if median > 0 else peak == 0
    explains = item.unit == "s" and item.value is not None and peak >= LLM_EXPLAINS_SHARE * item.value
    if explains or not flat:
        why = "rose" if not flat else "was high"
        return CauseAssessment(
            assessment=Assessment.supported,
            evidence=evidence,
            summary=f"the LLM's P95 {why} (max {peak:.2f} s) with the latency",
            **base,
        )
    return CauseAssessment(
        assessment=Assessment.ruled_out,
        evidence=evidence,
        summary=f"the LLM's P95 stayed flat at about {median:.2f} s while the item "
        f"measured {item.value} {item.unit}: the model call does not explain it",
        **base,
    )


def redis_pool(item: ItemResult, ev: Captured) -> CauseAssessment:
    base = {
        "cause": "redis_pool",
        "title": "Redis connection pool exhausted",
        "fault_row": "Redis connection failures -> pool exhausted -> redis-cli info",
        "remedy": "a larger pool, a connection timeout, check for leaked connections",
    }
    rows = _in_window(ev.redis, item)
    if not rows:
        return CauseAssessment(
            assessment=Assessment.inconclusive, summary="no Redis INFO snapshot in the window", **base
        )
    ok = [r for r in rows if r.error is None]
    errors = [r for r in rows if r.error is not None]
    peak = max((r.connected_clients or 0 for r in ok), default=0)
    maxclients = next((r.maxclients for r in ok if r.maxclients), None)
    rejected = (ok[-1].rejected_connections or 0) - (ok[0].rejected_connections or 0) if ok else 0
    text = (
        f"connected_clients peaked at {peak} (maxclients {maxclients}), {rejected} connections rejected, "
        f"{len(errors)} of {len(rows)} snapshots could not reach Redis"
    )
    evidence = [Evidence(source="redis INFO", text=text, file=ev.file(REDIS_FILE))]
    if errors:
        evidence.append(
            Evidence(source="redis INFO", text=f"last error: {errors[-1].error}", file=ev.file(REDIS_FILE))
        )
    if rejected > 0 or errors or (maxclients and peak >= 0.9 * maxclients):
        return CauseAssessment(
            assessment=Assessment.supported,
            evidence=evidence,
            summary="Redis refused or lost connections in the window",
            **base,
        )
    return CauseAssessment(
        assessment=Assessment.ruled_out,
        evidence=evidence,
        summary=f"Redis answered every snapshot, at most {peak} connected clients, none rejected",
        **base,
    )


def memory_leak(item: ItemResult, ev: Captured) -> CauseAssessment:
    base = {
        "cause": "memory_leak",
        "title": "Memory leak",
        "fault_row": "memory keeps growing -> leak -> memory profiler",
        "remedy": "look for reference cycles and caches that only grow; free big objects",
    }
    good = [m for m in ev.memory if m.error is None and m.traced_bytes is not None]
    if len(good) < 2:
        why = next((m.error for m in reversed(ev.memory) if m.error), None)
        return CauseAssessment(
            assessment=Assessment.inconclusive,
            **base,
            summary=f"need tracemalloc top sites at start and end ({why or 'none captured'})",
        )
    first, last = good[0], good[-1]
    before = {s.where: s.size_bytes for s in first.top}
    growth = sorted(((s.size_bytes - before.get(s.where, 0), s) for s in last.top), key=lambda g: -g[0])
    lines = [f"+{g / MiB:.1f} MiB  {s.where}  ({s.count} blocks)" for g, s in growth[:5] if g > 0]
    grew = (last.traced_bytes or 0) - (first.traced_bytes or 0)
    text = (
        f"Python heap traced by tracemalloc: {first.traced_bytes / MiB:.1f} MiB ({first.label}) -> "
        f"{last.traced_bytes / MiB:.1f} MiB ({last.label})"
    )
    evidence = [Evidence(source="tracemalloc", text=text, detail="\n".join(lines), file=ev.file(MEMORY_FILE))]
    if grew >= LEAK_MIN_BYTES and lines:
        return CauseAssessment(
            assessment=Assessment.supported,
            evidence=evidence,
            **base,
            summary=f"the Python heap grew {grew / MiB:.1f} MiB, most at {growth[0][1].where}",
        )
    return CauseAssessment(
        assessment=Assessment.ruled_out,
        evidence=evidence,
        **base,
        summary=f"the Python heap grew only {grew / MiB:.1f} MiB: growth, if any, is "
        "outside Python objects (native libraries, allocator)",
    )


def gpu_memory(item: ItemResult, ev: Captured) -> CauseAssessment:
    base = {
        "cause": "gpu_oom",
        "title": "GPU out of memory",
        "fault_row": "inference OOM -> GPU memory -> nvidia-smi",
        "remedy": "a quantised model (AGENT_LOAD_IN_4BIT), smaller batches (AGENT_MAX_BATCH_SIZE)",
    }
    if not ev.gpu:
        return CauseAssessment(assessment=Assessment.inconclusive, summary="GPU memory not recorded", **base)
    if not any(g.available for g in ev.gpu):
        note = next((g.note for g in ev.gpu if g.note), "no GPU")
        return CauseAssessment(
            assessment=Assessment.ruled_out, summary="no GPU: the model runs on the CPU",
            evidence=[Evidence(source="NVML", text=note, file=ev.file(GPU_FILE))], **base)
    evidence = [Evidence(source="service log", text=line, file=ev.file(GPU_FILE))
                for g in ev.gpu for line in g.oom_lines]
    share, device = max(((d.used_bytes / d.total_bytes, d) for g in ev.gpu for d in g.devices),
                        key=lambda p: p[0])
    own = max((sum(p.used_bytes or 0 for p in d.service_processes) for g in ev.gpu for d in g.devices),
              default=0)
    evidence.append(Evidence(
        source="NVML", file=ev.file(GPU_FILE),
        text=f"peak {device.used_bytes / MiB:.0f} of {device.total_bytes / MiB:.0f} MiB on GPU "
        f"{device.index} ({device.name}); the service's processes held at most {own / MiB:.0f} MiB"))
    if evidence[0].source == "service log":
        return CauseAssessment(assessment=Assessment.supported, evidence=evidence,
                               summary=f"the service logged {len(evidence) - 1} out-of-memory errors", **base)
    verdict = Assessment.supported if share >= GPU_FULL_SHARE else Assessment.ruled_out
    return CauseAssessment(
        assessment=verdict, evidence=evidence, summary=f"GPU memory peaked at {share:.0%}", **base
    )


Assess = Callable[[ItemResult, Captured], CauseAssessment]
_CAUSES: dict[str, list[Assess]] = {
    "latency": [event_loop, slow_llm, redis_pool],
    "throughput": [event_loop, slow_llm],
    "memory": [memory_leak],
    "errors": [redis_pool, gpu_memory, slow_llm],
}
_ORDER = {Assessment.supported: 0, Assessment.inconclusive: 1, Assessment.ruled_out: 2}


def diagnose(
    verdict: Verdict,
    diagnostics_dir: Path,
    *,
    checklist: Checklist | None = None,
    series: SeriesSet | None = None,
) -> Diagnosis:
    """A diagnosis for each failed, warned or no-data item whose symptom the fault table covers; a
    no-data item whose series is missing gets what it looked for instead of causes."""
    measures = {i.id: i.measure for i in checklist.items} if checklist else {}
    ev = Captured(diagnostics_dir, series)
    items = []
    for item in verdict.items:
        # Nothing of the service's to explain: it passed, cannot apply, or loadgate failed grading it.
        if item.status in (ItemStatus.passed, ItemStatus.not_applicable, ItemStatus.error):
            continue
        missing = item.evidence.get("missing_series") if item.status == ItemStatus.no_data else None
        if isinstance(missing, dict):
            items.append(ItemDiagnosis(item_id=item.id, title=item.title, status=str(item.status),
                                       symptom="missing series", causes=[],
                                       explanation=missing.get("explanation")))
            continue
        symptom = symptom_of(item, measures.get(item.id))
        if symptom is None:
            continue
        causes = sorted((assess(item, ev) for assess in _CAUSES[symptom]), key=lambda c: _ORDER[c.assessment])
        items.append(
            ItemDiagnosis(
                item_id=item.id, title=item.title, status=str(item.status), symptom=symptom, causes=causes
            )
        )
    return Diagnosis(run_id=verdict.run_id, generated_at=time.time(), items=items)


def write_diagnosis(run_folder: RunFolder, checklist: Checklist | None = None) -> Path:
    """Diagnose a graded run folder (verdict.json, series.json if any) into diagnostics/diagnosis.json."""
    verdict = Verdict.load_file(run_folder.verdict)
    series = SeriesSet.load_file(run_folder.series) if run_folder.series.exists() else None
    diagnosis = diagnose(verdict, run_folder.diagnostics_dir, checklist=checklist, series=series)
    return diagnosis.save_file(run_folder.diagnostics_dir)
