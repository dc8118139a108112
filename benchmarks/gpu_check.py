"""The GPU device check: ``scripts/device-check.sh`` runs it on a machine with an NVIDIA GPU.

Each stage starts the service's ``local`` backend in a child process (``gpu_child.py``) on the
machine's own torch, has it answer batches, reads NVML while the child holds its model, and appends
one JSON line to ``<out>/gpu-check.jsonl`` at once, so a check cut short still leaves what it
measured. At the end it prints one Markdown table (also ``<out>/gpu-check.md``): where the model ran
(as ``/readyz`` reports it), answers to a batch of 32, the 4-bit saving on the ~1B model (whole model
and quantized layers), tokens/s at batch 1 and 32 for 16-bit vs 4-bit (warm-up excluded), and
NVML's memory for the child process beside torch's reserved memory.

This process never imports torch: a CUDA context here would itself take GPU memory.
"""

from __future__ import annotations

import argparse
import json
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.diagnostics.gpu import gpu_snapshot

MIB = 2**20


@dataclass(frozen=True)
class Stage:
    name: str
    size: str  # build-model --size
    dtype: str = "auto"
    four_bit: bool = False
    compile: bool = False
    batch: int = 32


GPU_STAGES = (
    Stage("fp16, batch 32", "tiny", dtype="float16"),
    Stage("bf16, batch 32", "tiny", dtype="bfloat16"),
    Stage("4-bit NF4, batch 32", "tiny", four_bit=True),
    Stage("bf16 compiled (static KV cache), batch 32", "tiny", dtype="bfloat16", compile=True),
    Stage("1B fp16, batch 1", "1b", dtype="float16", batch=1),
    Stage("1B fp16, batch 32", "1b", dtype="float16"),
    Stage("1B 4-bit NF4 (fp16 compute), batch 1", "1b", dtype="float16", four_bit=True, batch=1),
    Stage("1B 4-bit NF4 (fp16 compute), batch 32", "1b", dtype="float16", four_bit=True),
)
CPU_STAGES = (Stage("CPU (no GPU found), batch 32", "tiny"),)


def _build(size: str, root: Path) -> Path:
    out = root / size
    if not (out / "config.json").exists():
        argv = [sys.executable, "-m", "target_service", "build-model", "--out", str(out), "--size", size]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return out


def _device_used() -> int | None:
    snap = gpu_snapshot("device")
    return sum(d.used_bytes for d in snap.devices) if snap.available else None


def _run_stage(stage: Stage, model_dir: Path, timeout_s: float) -> dict[str, object]:
    argv = [sys.executable, "-m", "benchmarks.gpu_child", "--model-dir", str(model_dir),
            "--dtype", stage.dtype, "--batch", str(stage.batch), *(["--four-bit"] if stage.four_bit else []),
            *(["--compile"] if stage.compile else [])]
    before = _device_used()
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = _read_line(child, timeout_s)
        row: dict[str, object] = json.loads(line)
        snap = gpu_snapshot(stage.name, service_pids=[child.pid])
        seen = [p for d in snap.devices for p in d.service_processes]
        row["nvml_process_bytes"] = sum(p.used_bytes or 0 for p in seen) if seen else None
        after = _device_used()
        row["device_delta_bytes"] = after - before if after is not None and before is not None else None
        child.communicate("\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    return row


def _read_line(child: subprocess.Popen[str], timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the backend exited with {child.returncode} before answering")
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 1.0)
        if ready:
            return child.stdout.readline()
    raise TimeoutError(f"no answer from the backend within {timeout_s:.0f} s")


def _mib(value: object) -> str:
    return f"{value / MIB:,.0f}" if isinstance(value, int) else "—"


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| stage | device | dtype | 4-bit | compiled | answered | tokens/s | weights MiB | "
             "quantized layers MiB | torch reserved MiB | NVML process MiB | device-wide change MiB |",
             "|" + "---|" * 12]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['stage']} | error: {r['error']} |" + " |" * 10)
            continue
        p = r["placement"]
        lines.append(
            f"| {r['stage']} | {p['device']} | {p['dtype']} | {p['quantization'] or 'no'} | "
            f"{'yes' if p['compiled'] else 'no'} | {r['answered']} of {r['batch']} | {r['tokens_per_s']} | "
            f"{_mib(r['model_bytes'])} | {_mib(r['linear_bytes'])} | {_mib(r['torch_reserved_bytes'])} | "
            f"{_mib(r['nvml_process_bytes'])} | {_mib(r['device_delta_bytes'])} |")
    return "\n".join(lines) + "\n" + savings(rows)


def savings(rows: list[dict[str, object]]) -> str:
    """The 4-bit saving on the 1B model, whole and for the quantized layers, from the batch-32 stages."""
    by = {r["stage"]: r for r in rows if "error" not in r}
    full, four = by.get("1B fp16, batch 32"), by.get("1B 4-bit NF4 (fp16 compute), batch 32")
    if not (full and four):
        return "\n4-bit saving on the 1B model: not measured (a stage failed or did not run).\n"
    whole = 1 - four["model_bytes"] / full["model_bytes"]
    layers = 1 - four["linear_bytes"] / full["linear_bytes"]
    return (f"\n4-bit saving on the 1B model: whole model {whole:.1%} less "
            f"({_mib(full['model_bytes'])} -> {_mib(four['model_bytes'])} MiB), quantized layers "
            f"{layers:.1%} less ({_mib(full['linear_bytes'])} -> {_mib(four['linear_bytes'])} MiB).\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder for gpu-check.jsonl and gpu-check.md")
    p.add_argument("--stage-timeout-s", type=float, default=150.0)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    probe = gpu_snapshot("check")
    stages = GPU_STAGES if probe.available else CPU_STAGES
    print(f"NVML: {probe.note or ', '.join(d.name for d in probe.devices)}", flush=True)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="loadgate-gpu-") as tmp, \
            (args.out / "gpu-check.jsonl").open("a") as log:
        for stage in stages:
            started = time.monotonic()
            try:
                row = _run_stage(stage, _build(stage.size, Path(tmp)), args.stage_timeout_s)
            except Exception as exc:  # noqa: BLE001 - one failed stage must not lose the others
                row = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            row.update(stage=stage.name, took_s=round(time.monotonic() - started, 1))
            rows.append(row)
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(f"{stage.name}: {row.get('error') or str(row['tokens_per_s']) + ' tokens/s'} "
                  f"({row['took_s']} s)", flush=True)
    report = table(rows)
    (args.out / "gpu-check.md").write_text(report)
    print(report)
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
