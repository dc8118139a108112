"""memory_per_request through the real CLI on planted targets: keeping 1 KB for every request served
fails the item; the same service keeping nothing passes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from short_gate import ROOT, short_checklist

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas import ItemStatus, Verdict
from harness.stack.http import answers

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

KEY = "planted-memory-key"


def _gate(tmp_path: Path, *knobs: str) -> Verdict:
    port = free_port()
    target = ManagedProcess("planted", [sys.executable, "-m", "tests.planted", "--port", str(port),
                                        "--no-rate-limit", *knobs],
                            log_path=tmp_path / "planted.log", cwd=ROOT,
                            env={"PLANTED_API_KEYS": KEY}).start()
    reports = tmp_path / "reports"
    try:
        target.wait_ready(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 30)
        # 50 req/s for 3 + 40 s: ~2,100 requests, 30% of them the warm-up.
        checklist = short_checklist(tmp_path, ("memory_per_request", "load_2x_target"), target_qps=25,
                                    steady_s=40, concurrency=False)
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "gate", "--target-url", f"http://127.0.0.1:{port}",
             "--checklist", str(checklist), "--reports-dir", str(reports), "--run-id", "mem",
             "--no-progress"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env={**os.environ, "LOADGATE_API_KEY": KEY})
    finally:
        target.stop()
    assert done.returncode in (0, 1, 2), done.stderr[-3000:]
    return Verdict.load_file(reports / "mem" / "verdict.json")


@pytest.mark.parametrize(("knobs", "status"), [((), ItemStatus.passed),
                                                (("--leak-kb-per-request", "1"), ItemStatus.failed)])
def test_one_kb_per_request_fails_and_nothing_kept_passes(tmp_path: Path, knobs: tuple[str, ...],
                                                          status: ItemStatus) -> None:
    item = next(i for i in _gate(tmp_path, *knobs).items if i.id == "memory_per_request")
    assert item.status == status, item.reason
    assert item.unit == "KB/request" and item.samples and item.samples > 1000
    if status == ItemStatus.failed:
        assert 0.8 <= item.value <= 1.3, item.reason  # what the planted service keeps, per request
