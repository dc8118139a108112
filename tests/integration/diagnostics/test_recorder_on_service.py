"""The recorder against the bundled service (two uvicorn workers, tracemalloc on): allocation sites
at start and end, stacks of every worker process, the probes' own cost in summary.json."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from harness.diagnostics.recorder import DiagnosticsRecorder, DiagnosticsSettings
from harness.diagnostics.snapshots import memory_sites
from harness.diagnostics.stacks import python_pids
from harness.schemas.diagnostics import (
    MEMORY_FILE,
    STACKS_FILE,
    MemorySnapshot,
    StackSample,
)
from harness.schemas.jsonl import read_jsonl
from harness.schemas.service import preset_profile
from harness.stack.service import start_service
from harness.target.client import TargetClient

pytestmark = pytest.mark.integration

LOOPS_DEADLINE_S = 60.0  # liveness only: how long load may run until both workers' loops are sampled


def _loop_pids(out: Path) -> set[int]:
    """Processes in whose stacks py-spy recognised a running event loop, so far."""
    samples = read_jsonl(out / STACKS_FILE, StackSample)
    return {s.pid for s in samples if any(t.loop is not None for t in s.threads)}


def test_memory_sites_and_worker_stacks_from_the_bundled_service(tmp_path: Path, redis_url: str) -> None:
    proc, url, _ = start_service(
        tmp_path / "svc",
        redis_url=redis_url,
        api_keys=["k1"],
        admin_token="adm",
        workers=2,
        backend="simulated",
        extra_env={"AGENT_TRACEMALLOC": "1"},
        ready_timeout_s=120,
    )
    try:
        pids = python_pids(proc.pid)
        assert len(pids) >= 3  # uvicorn's supervisor and its two workers
        out = tmp_path / "diagnostics"
        settings = DiagnosticsSettings(redis_interval_s=0.5, stack_interval_s=0.5, gpu=False)
        with DiagnosticsRecorder(
            out,
            redis_url=redis_url,
            service_pid=proc.pid,
            target=_target(url, "adm"),
            settings=settings,
        ) as recorder:
            recorder.memory_sites("start")
            with recorder.heavy("steady"), httpx.Client(timeout=30) as client:
                # At least 2.5 s of load, then on until py-spy has seen both workers' event loops: on a
                # busy machine one worker may take the first seconds' requests alone.
                started = time.monotonic()
                statuses = []
                while time.monotonic() < started + 2.5 or (
                        len(_loop_pids(out)) < 2 and time.monotonic() < started + LOOPS_DEADLINE_S):
                    response = client.post(
                        f"{url}/v1/agent/run",
                        json={"input": "how do I profile memory?"},
                        headers={"Authorization": "Bearer k1"},
                    )
                    statuses.append(response.status_code)  # 429 too: the service's rate limit
                    time.sleep(0.05)
            recorder.memory_sites("end")
        denied = memory_sites(_target(url, "wrong-token"), "denied")
    finally:
        proc.stop()

    assert 200 in statuses
    snapshots = read_jsonl(out / MEMORY_FILE, MemorySnapshot)
    assert [s.label for s in snapshots] == ["start", "end"]
    assert all(s.error is None and s.traced_bytes and s.top for s in snapshots)
    assert denied.error is not None and "401" in denied.error
    samples = read_jsonl(out / STACKS_FILE, StackSample)
    assert {s.pid for s in samples} == set(pids)
    # Non-blocking dumps (the default) may tear now and then: recorded as a dump error, never a stack.
    assert all(s.error.startswith("py-spy dump") and not s.threads for s in samples if s.error)
    # Each worker runs an event loop that py-spy recognises.
    workers = {s.pid for s in samples if any(t.loop is not None for t in s.threads)}
    assert len(workers) >= 2, f"event loops seen in {sorted(workers)} within {LOOPS_DEADLINE_S:g} s of load"
    summary = recorder.summary()
    assert summary.stacks.samples == len(samples) and summary.redis.samples >= 2
    assert summary.memory.samples == 2 and summary.memory.errors == 0


def _target(url: str, admin_token: str) -> TargetClient:
    return TargetClient(preset_profile("bundled"), url, admin_token=admin_token)

