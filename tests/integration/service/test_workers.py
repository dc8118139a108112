"""Two uvicorn workers: metrics add up across workers, faults reach every worker, RSS covers all,
and a SIGTERM lets in-flight requests finish."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.service.conftest import KEYS, Service, metric, start

pytestmark = pytest.mark.integration


DEADLINE_S = 30.0  # liveness only: how long a state may take to show, however busy the machine


def _until(done: Callable[[], bool]) -> bool:
    """Poll ``done`` until it holds or the deadline passes; whether it held."""
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _fault_seen_by_workers(service: Service, field: str, value: float, reads: int = 6) -> bool:
    """``reads`` fresh connections in a row (each may land on either worker) see the fault set."""
    def all_see() -> bool:
        for _ in range(reads):
            with service.admin() as a:
                if a.get("/admin/faults").json().get(field) != value:
                    return False
        return True
    return _until(all_see)


def _fresh_get(url: str) -> httpx.Response:
    # A new connection per call, so the kernel can hand it to either worker.
    with httpx.Client(timeout=10) as c:
        return c.get(url)


def test_two_workers_both_serve_and_counts_add_up(service_2w: Service) -> None:
    n = 40

    async def fire() -> list[httpx.Response]:
        # Many connections: requests spread over both workers.
        async def one(i: int) -> httpx.Response:
            async with httpx.AsyncClient(base_url=service_2w.url, timeout=30,
                                         headers={"Authorization": f"Bearer {KEYS[0]}"}) as c:
                return await c.post("/v1/agent/run", json={"input": f"two workers {i}", "max_tokens": 4})
        return await asyncio.gather(*[one(i) for i in range(n)])

    before = service_2w.metrics()
    assert all(r.status_code == 200 for r in asyncio.run(fire()))
    run_200 = {"endpoint": "/v1/agent/run", "method": "POST", "status": "200"}
    # Whichever worker answers the scrape, it reports the sum over both.
    for _ in range(6):
        text = _fresh_get(f"{service_2w.url}/metrics").text
        assert metric(text, "agent_requests_total", **run_200) - metric(before, "agent_requests_total",
                                                                         **run_200) == n
        assert metric(text, "agent_active_tasks") >= 1  # the scrape itself, on one worker
    # Both workers wrote samples (one file per worker pid in the multiprocess directory).
    pids = {int(p.name.rsplit("_", 1)[1].split(".")[0])
            for p in (service_2w.access_log.parent / "state").glob("metrics-*/counter_*.db")}
    workers = psutil.Process(service_2w.proc.pid).children(recursive=True)
    assert len(workers) >= 2 and len(pids & {w.pid for w in workers}) == 2


def test_rss_is_the_whole_service(service_2w: Service) -> None:
    root = psutil.Process(service_2w.proc.pid)
    tree = [root, *root.children(recursive=True)]
    expected = sum(p.memory_info().rss for p in tree)
    reported = metric(_fresh_get(f"{service_2w.url}/metrics").text, "process_resident_memory_bytes")
    biggest_worker = max(p.memory_info().rss for p in tree)
    assert reported > 1.5 * biggest_worker  # more than any one process: it is a sum
    assert 0.8 * expected < reported < 1.2 * expected


def test_faults_reach_every_worker(service_2w: Service) -> None:
    with service_2w.admin() as a:
        a.put("/admin/faults", json={"llm_error_rate": 1.0})
    try:
        assert _fault_seen_by_workers(service_2w, "llm_error_rate", 1.0)
        for i in range(8):
            with service_2w.client() as c:  # new connection each time
                body = c.post("/v1/agent/run", json={"input": f"fault spread {i} {time.time()}"}).json()
            assert body["degraded_reason"] in ("llm_error", "breaker_open")
    finally:
        with service_2w.admin() as a:
            a.delete("/admin/faults")


@pytest.fixture
def doomed_2w(tmp_path: Path) -> Iterator[Service]:
    """A service of its own (the test stops it), with tracemalloc on."""
    svc = start(tmp_path, backend="simulated", workers=2,
                env={"AGENT_LLM_TIMEOUT_S": "5", "AGENT_TRACEMALLOC": "1"})
    yield svc
    svc.proc.stop()
    svc.redis.stop()


def test_memory_diagnostics_then_sigterm_finishes_in_flight_requests(doomed_2w: Service) -> None:
    service_2w = doomed_2w
    with service_2w.admin() as a:
        memory = a.get("/admin/memory", params={"top": 5}).json()
        assert memory["traced_bytes"] > 0 and len(memory["top"]) == 5
        for site in memory["top"]:  # "file:line" allocation sites
            assert site["size_bytes"] > 0 and site["where"].rsplit(":", 1)[1].isdigit()
        a.put("/admin/faults", json={"llm_delay_s": 3.0})
    assert _fault_seen_by_workers(service_2w, "llm_delay_s", 3.0)
    results: list[httpx.Response] = []

    def slow_call() -> None:
        with service_2w.client() as c:
            results.append(c.post("/v1/agent/run", json={"input": f"in flight {time.time()}"}))

    t = threading.Thread(target=slow_call)
    t.start()
    # The request is inside its 3 s LLM delay once the in-flight gauge counts it beside the /metrics read.
    assert _until(lambda: metric(_fresh_get(f"{service_2w.url}/metrics").text, "agent_active_tasks") >= 2)
    psutil.Process(service_2w.proc.pid).terminate()
    t.join(timeout=20)
    assert len(results) == 1 and results[0].status_code == 200
    assert results[0].json()["degraded"] is False
