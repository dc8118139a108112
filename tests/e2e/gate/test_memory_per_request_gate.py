"""memory_per_request through the real CLI on planted targets: keeping 1 KB for every request served
fails the item; the same service keeping nothing passes it. Both gates run side by side (each its own
planted target and stack): the suite waits for one gate's phases, not two."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from short_gate import ROOT, short_checklist

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas import ItemStatus, Verdict
from harness.stack.http import answers

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

KEY = "planted-memory-key"
KNOBS = {"healthy": (), "leaky": ("--leak-kb-per-request", "1")}


def _target(workdir: Path, knobs: tuple[str, ...]) -> tuple[ManagedProcess, str]:
    port = free_port()
    target = ManagedProcess("planted", [sys.executable, "-m", "tests.planted", "--port", str(port),
                                        "--no-rate-limit", *knobs],
                            log_path=workdir / "planted.log", cwd=ROOT, env={"PLANTED_API_KEYS": KEY}).start()
    url = f"http://127.0.0.1:{port}"
    target.wait_ready(lambda: answers(f"{url}/healthz"), 30)
    return target, url


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Verdict]]:
    gates: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    with ExitStack() as stack:
        for name, knobs in KNOBS.items():
            workdir = tmp_path_factory.mktemp(name)
            target, url = _target(workdir, knobs)
            stack.callback(target.stop)
            # 50 req/s for 3 + 40 s: ~2,100 requests, 30% of them the warm-up.
            checklist = short_checklist(workdir, ("memory_per_request", "load_2x_target"), target_qps=25,
                                        steady_s=40, concurrency=False)
            log = stack.enter_context((workdir / "gate.log").open("w"))  # a file: no pipe to fill up
            gate = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", "gate", "--target-url", url, "--checklist",
                 str(checklist), "--reports-dir", str(workdir / "reports"), "--run-id", "mem",
                 "--no-progress"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LOADGATE_API_KEY": KEY})
            stack.callback(lambda g=gate: g.poll() is None and g.kill())
            gates[name] = gate, workdir
        done = {}
        for name, (gate, workdir) in gates.items():
            code = gate.wait(timeout=600)
            assert code in (0, 1, 2), f"{name}: exit {code}\n{(workdir / 'gate.log').read_text()[-3000:]}"
            done[name] = Verdict.load_file(workdir / "reports" / "mem" / "verdict.json")
        yield done


@pytest.mark.parametrize(("name", "status"), [("healthy", ItemStatus.passed), ("leaky", ItemStatus.failed)])
def test_one_kb_per_request_fails_and_nothing_kept_passes(verdicts: dict[str, Verdict], name: str,
                                                          status: ItemStatus) -> None:
    item = next(i for i in verdicts[name].items if i.id == "memory_per_request")
    assert item.status == status, item.reason
    assert item.unit == "KB/request" and item.samples and item.samples > 1000
    if status == ItemStatus.failed:
        assert 0.8 <= item.value <= 1.3, item.reason  # what the planted service keeps, per request
