"""GPU evidence through NVML (``nvidia-ml-py``, NVIDIA's own binding): device memory and utilisation,
and the memory of the service's own processes.

Not torch: the project installs a CPU build of torch, which would report "no GPU" on a GPU machine,
and where torch has CUDA, asking it creates a CUDA context in the harness that itself holds GPU memory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path

import pynvml

from harness.schemas.diagnostics import GpuDevice, GpuProcess, GpuSnapshot


def gpu_snapshot(label: str, service_pids: Iterable[int] = ()) -> GpuSnapshot:
    """Every device NVML sees; "no GPU" (with NVML's reason) where it finds none. Never raises."""
    t = time.time()
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return GpuSnapshot(t=t, label=label, available=False, note=f"no GPU (NVML: {exc})")
    try:
        pids = set(service_pids)
        devices = [_device(index, pids) for index in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError as exc:
        return GpuSnapshot(t=t, label=label, available=False, note=f"no GPU (NVML failed: {exc})")
    finally:
        pynvml.nvmlShutdown()
    if not devices:
        return GpuSnapshot(t=t, label=label, available=False, note="no GPU (NVML lists no device)")
    return GpuSnapshot(t=t, label=label, available=True, devices=devices)


# What torch, the CUDA runtime and cuBLAS print when an allocation fails on the device.
_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation")


def oom_lines(log: Path, keep: int = 5) -> list[str]:
    """The last ``keep`` out-of-memory lines of the service's log (none when it cannot be read)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return [line.strip()[:300] for line in text.splitlines() if _OOM.search(line)][-keep:]


def _device(index: int, service_pids: set[int]) -> GpuDevice:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        utilization: int | None = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
    except pynvml.NVMLError:  # not supported on every device (MIG slices)
        utilization = None
    processes = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    name = pynvml.nvmlDeviceGetName(handle)
    return GpuDevice(
        index=index, name=name.decode() if isinstance(name, bytes) else name, used_bytes=memory.used,
        total_bytes=memory.total, utilization_percent=utilization, processes_seen=len(processes),
        service_processes=[GpuProcess(pid=p.pid, used_bytes=p.usedGpuMemory) for p in processes
                           if p.pid in service_pids],
    )
