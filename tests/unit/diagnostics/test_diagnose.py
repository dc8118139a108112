"""The diagnosis rules over recorded evidence: each cause is supported, ruled out or left open
according to what the diagnostics folder and the series say."""

from __future__ import annotations

import time
from pathlib import Path

from harness.checklist import load_checklist
from harness.diagnostics.diagnose import diagnose
from harness.diagnostics.stacks import classify
from harness.schemas.diagnostics import (
    GPU_FILE,
    MEMORY_FILE,
    STACKS_FILE,
    AllocationSite,
    Assessment,
    Frame,
    GpuDevice,
    GpuProcess,
    GpuSnapshot,
    LoopState,
    MemorySnapshot,
    StackSample,
)
from harness.schemas.jsonl import append_jsonl
from harness.schemas.verdict import ItemResult, ItemStatus, Outcome, Series, SeriesSet, Verdict, Window

T0 = 1_764_000_000.0
MiB = 1024 * 1024
RUNNER = Frame(name="Runner.run", file="asyncio/runners.py", line=118)


def item(
    id_: str, status: ItemStatus = ItemStatus.failed, value: float = 5.6, unit: str = "s", title: str = ""
) -> ItemResult:
    return ItemResult(
        id=id_,
        title=title or id_,
        category="performance",
        severity="blocker",
        kind="metric",
        status=status,
        reason="",
        value=value,
        unit=unit,
        window=Window(scenario="target_2x", phase="steady", start=T0, end=T0 + 60),
    )


def verdict(*items: ItemResult) -> Verdict:
    return Verdict(run_id="r", outcome=Outcome.no_go, reason="", items=list(items), graded_at=time.time())


def causes(diagnosis, item_id: str) -> dict:  # noqa: ANN001
    [found] = [i for i in diagnosis.items if i.item_id == item_id]
    return {c.cause: c for c in found.causes}


def test_event_loop_states_from_stack_shapes() -> None:
    handler = Frame(name="handler", file="app.py", line=3)
    select = Frame(name="BaseSelector.select", file="selectors.py", line=468)
    run_once = Frame(name="BaseEventLoop._run_once", file="asyncio/base_events.py", line=1884)
    assert classify("MainThread", False, [RUNNER]).loop == LoopState.idle  # uvloop waiting
    assert classify("MainThread", False, [select, run_once, RUNNER]).loop == LoopState.idle  # stdlib waiting
    assert classify("MainThread", False, [handler, RUNNER]).loop == LoopState.blocked
    busy = classify("MainThread", True, [handler, run_once, RUNNER])
    assert (busy.loop, busy.loop_frames) == (LoopState.cpu, 1)
    assert classify("worker", True, [handler]).loop is None  # a thread pool thread, no loop


def test_cpu_bound_loop_is_told_apart_from_a_blocking_call(tmp_path: Path) -> None:
    hot = Frame(name="tokenize", file="svc/text.py", line=42)
    for k in range(10):
        append_jsonl(
            tmp_path / STACKS_FILE,
            StackSample(
                t=T0 + k,
                label="target_2x",
                pid=1,
                cost_s=0.01,
                threads=[classify("MainThread", k < 7, [hot, RUNNER])],
            ),
        )
    found = causes(diagnose(verdict(item("p99_latency")), tmp_path), "p99_latency")
    assert found["event_loop_cpu"].assessment == Assessment.supported
    assert "tokenize (svc/text.py:42)" in found["event_loop_cpu"].summary
    assert any("tokenize (svc/text.py:42) ×7" in e.text for e in found["event_loop_cpu"].evidence)


def test_free_loop_is_ruled_out_and_samples_outside_the_window_are_ignored(tmp_path: Path) -> None:
    blocked = classify("MainThread", False, [Frame(name="f", file="a.py", line=1), RUNNER])
    for k in range(20):
        append_jsonl(
            tmp_path / STACKS_FILE,
            StackSample(
                t=T0 + k, label="x", pid=1, cost_s=0.01, threads=[classify("MainThread", False, [RUNNER])]
            ),
        )
    append_jsonl(
        tmp_path / STACKS_FILE, StackSample(t=T0 + 600, label="x", pid=1, cost_s=0.01, threads=[blocked])
    )
    found = causes(diagnose(verdict(item("p99_latency")), tmp_path), "p99_latency")
    assert found["event_loop_blocked"].assessment == Assessment.ruled_out


def series(*points: float) -> SeriesSet:
    return SeriesSet(
        series=[
            Series(
                name="llm_p95",
                scenario="target_2x",
                unit="s",
                points=[(T0 + k, v) for k, v in enumerate(points)],
            )
        ]
    )


def test_slow_llm_supported_when_its_p95_rises_and_ruled_out_when_flat(tmp_path: Path) -> None:
    rising = causes(
        diagnose(verdict(item("p99_latency")), tmp_path, series=series(0.3, 0.3, 4.8, 5.1)), "p99_latency"
    )
    assert rising["slow_llm"].assessment == Assessment.supported
    flat = causes(
        diagnose(verdict(item("p99_latency")), tmp_path, series=series(0.3, 0.31, 0.29, 0.3)), "p99_latency"
    )
    assert flat["slow_llm"].assessment == Assessment.ruled_out
    assert "0.30 s" in flat["slow_llm"].summary


def memory(label: str, t: float, sites: dict[str, int]) -> MemorySnapshot:
    return MemorySnapshot(
        t=t,
        label=label,
        cost_s=0.01,
        traced_bytes=sum(sites.values()),
        top=[AllocationSite(where=w, size_bytes=b, count=1) for w, b in sites.items()],
    )


def test_leak_names_the_growing_allocation_site(tmp_path: Path) -> None:
    append_jsonl(tmp_path / MEMORY_FILE, memory("start", T0, {"svc/cache.py:10": 2 * MiB, "svc/a.py:1": MiB}))
    append_jsonl(
        tmp_path / MEMORY_FILE, memory("end", T0 + 1800, {"svc/cache.py:10": 40 * MiB, "svc/a.py:1": MiB})
    )
    mem = item("soak_memory", value=120, unit="MB/h", title="No leak over a 30-minute soak")
    found = causes(diagnose(verdict(mem), tmp_path), "soak_memory")["memory_leak"]
    assert found.assessment == Assessment.supported
    assert "svc/cache.py:10" in found.summary and "+38.0 MiB  svc/cache.py:10" in found.evidence[0].detail


def test_leak_left_open_when_tracemalloc_was_off(tmp_path: Path) -> None:
    append_jsonl(
        tmp_path / MEMORY_FILE,
        MemorySnapshot(
            t=T0, label="start", cost_s=0.01, error="/admin/memory answered 409: tracemalloc is off"
        ),
    )
    found = causes(diagnose(verdict(item("memory_stable", unit="MB/h")), tmp_path), "memory_stable")
    assert found["memory_leak"].assessment == Assessment.inconclusive
    assert "409" in found["memory_leak"].summary


def test_gpu_oom_ruled_out_without_a_gpu_and_checklist_measures_pick_the_symptom(tmp_path: Path) -> None:
    append_jsonl(tmp_path / GPU_FILE, GpuSnapshot(t=T0, label="start", available=False, note="no GPU"))
    checklist = load_checklist(Path(__file__).parents[3] / "checklist.yaml")
    errors = item("error_rate", value=0.02, unit="")
    timeouts = item("timeouts_set", value=5.2)
    passed = item("p99_latency", status=ItemStatus.passed)
    diagnosis = diagnose(verdict(errors, timeouts, passed), tmp_path, checklist=checklist)
    assert {(i.item_id, i.symptom) for i in diagnosis.items} == {
        ("error_rate", "errors"),
        ("timeouts_set", "latency"),
    }
    assert causes(diagnosis, "error_rate")["gpu_oom"].assessment == Assessment.ruled_out


def _gpu_run(tmp_path: Path, used_mib: int, oom: list[str]) -> dict:
    device = GpuDevice(index=0, name="H200", used_bytes=used_mib * MiB, total_bytes=1000 * MiB,
                       service_processes=[GpuProcess(pid=42, used_bytes=(used_mib - 50) * MiB)])
    for t, label, ooms in ((T0 + 1, "target_2x", []), (T0 + 60, "end", oom)):
        snapshot = GpuSnapshot(t=t, label=label, available=True, devices=[device], oom_lines=ooms)
        append_jsonl(tmp_path / GPU_FILE, snapshot)
    return causes(diagnose(verdict(item("error_rate", value=0.02, unit="")), tmp_path), "error_rate")


def test_gpu_oom_supported_by_the_service_logs_oom_lines_even_with_memory_to_spare(tmp_path: Path) -> None:
    oom = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    found = _gpu_run(tmp_path, 400, [oom])
    gpu = found["gpu_oom"]
    assert gpu.assessment == Assessment.supported and "1 out-of-memory" in gpu.summary
    assert gpu.evidence[0].source == "service log" and "350 MiB" in gpu.evidence[-1].text


def test_gpu_oom_from_nvml_memory_share_alone(tmp_path: Path) -> None:
    assert _gpu_run(tmp_path / "full", 990, [])["gpu_oom"].assessment == Assessment.supported
    (tmp_path / "half").mkdir()
    assert _gpu_run(tmp_path / "half", 500, [])["gpu_oom"].assessment == Assessment.ruled_out
