"""The GPU memory headroom item: graded from the NVML samples inside its window; not applicable,
never failing, where NVML found no GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from grade_runs import write_run

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.verdict import decide
from harness.schemas.checklist import Checklist
from harness.schemas.diagnostics import GPU_FILE, GpuDevice, GpuSnapshot
from harness.schemas.jsonl import append_jsonl
from harness.schemas.timeline import Timeline
from harness.schemas.verdict import ItemStatus, Outcome

REPO = Path(__file__).resolve().parents[3]
GiB = 2**30


@pytest.fixture
def checklist() -> Checklist:
    return load_checklist(REPO / "checklist.yaml")


def _graded(tmp_path: Path, checklist: Checklist, samples: list[GpuSnapshot]):  # noqa: ANN202
    folder = write_run(tmp_path, "target_2x", {"warmup": [(0.1, 200, False, False)] * 10,
                                               "steady": [(0.1, 200, False, False)] * 100})
    for snapshot in samples:
        append_jsonl(folder.diagnostics_dir / GPU_FILE, snapshot)
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, folder=folder,
                       timeline=Timeline.load_file(folder.timeline))
    [item] = [i for i in checklist.items if i.id == "gpu_memory_headroom"]
    return folder, grade_item(ctx, item, {})


def _sample(folder_start: float, offset_s: float, used_gib: float) -> GpuSnapshot:
    device = GpuDevice(index=0, name="H200", used_bytes=int(used_gib * GiB), total_bytes=140 * GiB)
    return GpuSnapshot(t=folder_start + offset_s, label="target_2x", available=True, devices=[device])


def test_no_gpu_is_not_applicable_and_never_blocks(tmp_path: Path, checklist: Checklist) -> None:
    no_gpu = GpuSnapshot(t=1_700_000_000.0, label="start", available=False,
                         note="no GPU (NVML: NVML Shared Library Not Found)")
    _, result = _graded(tmp_path, checklist, [no_gpu])
    assert result.status == ItemStatus.not_applicable and "NVML Shared Library Not Found" in result.reason
    blocker = result.model_copy(update={"id": "p99_latency", "severity": "blocker",
                                        "status": ItemStatus.passed})
    verdict = decide("r", [blocker, result], [], prometheus_url=None)
    assert verdict.outcome == Outcome.go and "gpu_memory_headroom" not in verdict.reason


def test_headroom_is_the_fullest_sample_inside_the_window(tmp_path: Path, checklist: Checklist) -> None:
    t0 = 1_700_000_000.0  # write_run's first request; steady starts 0.1 s later
    samples = [_sample(t0, 0.05, 139.0),  # warm-up, outside the window: not judged
               _sample(t0, 0.5, 70.0), _sample(t0, 0.9, 112.0)]
    _, result = _graded(tmp_path, checklist, samples)
    assert result.status == ItemStatus.passed and result.value == pytest.approx(0.2)
    assert result.evidence["samples"] == 2


def test_a_nearly_full_gpu_fails_the_warning_item(tmp_path: Path, checklist: Checklist) -> None:
    t0 = 1_700_000_000.0
    _, result = _graded(tmp_path, checklist, [_sample(t0, 0.5, 133.0)])
    assert result.status == ItemStatus.failed and result.value == pytest.approx(1 - 133 / 140)
