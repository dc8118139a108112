"""GPU memory is recorded when CUDA is present and skipped cleanly, as "no GPU", when not."""

from __future__ import annotations

import torch

from harness.diagnostics.snapshots import gpu_snapshot


def test_gpu_snapshot_matches_what_torch_sees() -> None:
    snapshot = gpu_snapshot("start")
    assert snapshot.available == torch.cuda.is_available()
    if snapshot.available:
        assert len(snapshot.devices) == torch.cuda.device_count()
        assert all(0 < d.used_bytes <= d.total_bytes for d in snapshot.devices)
    else:
        assert (snapshot.note, snapshot.devices) == ("no GPU", [])
