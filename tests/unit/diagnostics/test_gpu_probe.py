"""GPU evidence comes from NVML, without torch or the grader in the harness: "no GPU" (with NVML's
reason) on a machine without NVIDIA's driver, devices and the service's processes where there is one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.diagnostics.gpu import gpu_snapshot, oom_lines

NVIDIA_DRIVER = Path("/proc/driver/nvidia/version").exists()  # what NVML needs, read independently of it


def test_nvml_sees_a_gpu_exactly_where_nvidias_driver_is_loaded() -> None:
    snapshot = gpu_snapshot("start", service_pids=[1])
    assert snapshot.available == NVIDIA_DRIVER
    if snapshot.available:
        assert all(0 < d.used_bytes <= d.total_bytes for d in snapshot.devices)
    else:
        assert snapshot.note.startswith("no GPU (NVML") and snapshot.devices == []


def test_the_probe_imports_neither_torch_nor_the_grader() -> None:
    """A CPU build of torch would say "no GPU" on a GPU machine, and a CUDA one would hold a context
    (GPU memory) in the harness; the diagnosis' formats would pull the grader into every probe."""
    code = ("import sys, json; from harness.diagnostics.gpu import gpu_snapshot; gpu_snapshot('x'); "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    heavy = [m for m in loaded if m.split(".")[0] in ("torch", "transformers", "locust", "gevent")
             or m.startswith(("harness.grade", "harness.load", "harness.diagnostics.diagnose"))]
    assert heavy == [] and "pynvml" in loaded


def test_oom_lines_are_the_last_out_of_memory_errors_of_the_service_log(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    log.write_text("INFO started\n" + "".join(
        f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {n} MiB\n" for n in range(7))
        + "RuntimeError: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate\nINFO ok\n")
    found = oom_lines(log)
    assert len(found) == 5 and "allocate 3 MiB" in found[0] and "CUBLAS" in found[-1]
    assert oom_lines(tmp_path / "missing.log") == []
