"""A planted blocking call under a little load: py-spy's stacks, captured by the recorder, lead the
diagnosis of the failed latency item to the blocking line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.diagnostics.diagnose import diagnose
from harness.diagnostics.recorder import DiagnosticsRecorder, DiagnosticsSettings
from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess, uvicorn_argv
from harness.schemas.diagnostics import (
    REDIS_FILE,
    STACKS_FILE,
    Assessment,
    RedisSnapshot,
    StackSample,
)
from harness.schemas.jsonl import read_jsonl
from harness.schemas.verdict import ItemResult, ItemStatus, Outcome, Verdict, Window
from harness.stack.http import answers

pytestmark = pytest.mark.integration

LOAD_S = 4.0
STACKS_DEADLINE_S = 60.0
THRESHOLD_S = 0.15


def _good_stacks(out: Path) -> list[StackSample]:
    try:
        return [s for s in read_jsonl(out / STACKS_FILE, StackSample) if not s.error]
    except ValueError:  # a line caught mid-append: count again on the next round
        return []


@pytest.fixture
def blocking_service(tmp_path: Path) -> Iterator[tuple[ManagedProcess, str]]:
    port = free_port()
    argv = uvicorn_argv("blocking_app:app", port, "--app-dir", str(Path(__file__).parent))
    proc = ManagedProcess("blocking app", argv, log_path=tmp_path / "app.log").start()
    url = f"http://{LOOPBACK}:{port}"
    proc.wait_ready(lambda: answers(f"{url}/healthz"), 30)
    yield proc, url
    proc.stop()


def load(url: str, seconds: float, users: int = 4) -> list[float]:
    """Closed-loop users posting for ``seconds``; returns every request's latency."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def user() -> None:
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                client.post(f"{url}/v1/agent/run", json={"input": "hi"}).raise_for_status()
                latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=user) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def test_failed_latency_item_points_at_the_blocking_call(
    tmp_path: Path, redis_url: str, blocking_service: tuple[ManagedProcess, str]
) -> None:
    proc, url = blocking_service
    out = tmp_path / "diagnostics"
    # No background dumps: the recorder's first pass may run before heavy() starts, labelled "background".
    settings = DiagnosticsSettings(redis_interval_s=0.5, stack_interval_s=0.4, background_stack_interval_s=0,
                                   gpu=False)
    recorder = DiagnosticsRecorder(out, redis_url=redis_url, service_pid=proc.pid, settings=settings).start()
    start = time.time()
    with recorder.heavy("target_2x"):
        latencies = load(url, LOAD_S)
        # py-spy is slower on a busy machine: load on until 3 stacks were dumped (liveness deadline only).
        deadline = time.monotonic() + STACKS_DEADLINE_S
        while len(_good_stacks(out)) < 3 and time.monotonic() < deadline:
            latencies += load(url, 1.0)
    end = time.time()
    summary = recorder.stop()

    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    assert p99 >= THRESHOLD_S  # the planted sleep serialises requests: the item really fails
    item = ItemResult(
        id="p99_latency",
        title="P99 latency < 0.15 s",
        category="performance",
        severity="blocker",
        kind="client",
        status=ItemStatus.failed,
        reason="P99 over the SLO",
        value=p99,
        unit="s",
        threshold=f"< {THRESHOLD_S} s",
        samples=len(latencies),
        window=Window(scenario="target_2x", phase="steady", start=start, end=end),
    )
    verdict = Verdict(
        run_id="planted", outcome=Outcome.no_go, reason="p99", items=[item], graded_at=time.time()
    )

    diagnosis = diagnose(verdict, out)
    diagnosis.save_file(out)

    samples = read_jsonl(out / STACKS_FILE, StackSample)
    # Non-blocking dumps (the default) may tear now and then: recorded as a dump error, never a stack.
    assert all(s.error.startswith("py-spy dump") and not s.threads for s in samples if s.error)
    assert summary.stacks.samples - summary.stacks.errors >= 3
    assert {s.label for s in samples} == {"target_2x"}
    [found] = diagnosis.items
    assert found.symptom == "latency"
    top = found.causes[0]
    assert (top.cause, top.assessment) == ("event_loop_blocked", Assessment.supported)
    assert "lookup_answer (blocking_app.py:13)" in top.summary
    stack = "\n".join(e.detail for e in top.evidence)
    assert "`time.sleep(0.2)" in stack and "run (blocking_app.py:19)" in stack
    by_cause = {c.cause: c for c in found.causes}
    # No LLM series here, so the LLM is neither blamed nor cleared; Redis answered throughout.
    assert by_cause["slow_llm"].assessment == Assessment.inconclusive
    assert by_cause["redis_pool"].assessment == Assessment.ruled_out
    snapshots = read_jsonl(out / REDIS_FILE, RedisSnapshot)
    assert snapshots and all(s.error is None and s.connected_clients for s in snapshots)
