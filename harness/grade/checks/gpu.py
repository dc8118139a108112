"""GPU memory headroom under load, from the NVML samples the diagnostics recorded while the scenario
ran (the reference article's fault row: inference OOM -> GPU memory -> quantise or smaller batches)."""

from __future__ import annotations

from harness.grade.context import GradeContext
from harness.grade.result import NoData, NotApplicable, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.diagnostics import GPU_FILE, GpuSnapshot
from harness.schemas.jsonl import read_jsonl
from harness.schemas.verdict import ItemResult

MiB = 2**20


def gpu_memory_headroom(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """The smallest share of a GPU's memory left free at any sample in the window."""
    if ctx.folder is None:
        raise NoData("no run folder to read the GPU samples from")
    snapshots = read_jsonl(ctx.folder.diagnostics_dir / GPU_FILE, GpuSnapshot)
    if not snapshots:
        raise NoData(f"no GPU samples recorded ({GPU_FILE} is empty or missing: diagnostics were off)")
    if not any(s.available for s in snapshots):
        raise NotApplicable(f"{snapshots[-1].note or 'no GPU'}: the model runs on the CPU")
    window = ctx.window(item)
    inside = [s for s in snapshots if s.available and window.start <= s.t <= window.end]
    if not inside:
        raise NoData(f"no GPU sample between {window.start:.0f} and {window.end:.0f}")
    used, device = max(((d.used_bytes / d.total_bytes, d) for s in inside for d in s.devices),
                       key=lambda pair: pair[0])
    status, reason = judge(item, 1 - used, None)
    return make_result(
        item, status, f"{reason}: at most {device.used_bytes / MiB:,.0f} of {device.total_bytes / MiB:,.0f} "
        f"MiB in use on GPU {device.index} ({device.name}), {len(inside)} samples",
        value=1 - used, window=window, evidence={"samples": len(inside), "device": device.name})
