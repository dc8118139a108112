"""`loadgate detect` as a user runs it, on a live service instrumented like the reference article
(prometheus_client's start_http_server on a port of its own): the preset, the YAML, the exit codes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.stack.http import answers

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LOADGATE = [sys.executable, "-m", "harness.cli"]
# The article's monitoring.py (names, labels, decorator) around one async handler.
SERVICE = """
import sys, time
from functools import wraps
import uvicorn
from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram, start_http_server

REQUEST_COUNT = Counter('agent_requests_total', 'Total requests', ['method', 'endpoint', 'status'])
REQUEST_LATENCY = Histogram('agent_request_duration_seconds', 'Request latency')
ACTIVE_TASKS = Gauge('agent_active_tasks', 'Number of active tasks')

def monitor_endpoint(func):
    @wraps(func)
    async def wrapper(*args, **kwargs):
        start = time.time()
        ACTIVE_TASKS.inc()
        status = "error"
        try:
            result = await func(*args, **kwargs)
            status = "success"
            return result
        finally:
            REQUEST_LATENCY.observe(time.time() - start)
            ACTIVE_TASKS.dec()
            REQUEST_COUNT.labels(method="POST", endpoint=func.__name__, status=status).inc()
    return wrapper

app = FastAPI()

@app.post("/agent/run")
@monitor_endpoint
async def run_agent():
    return {"output": "ok"}

start_http_server(int(sys.argv[2]), addr="127.0.0.1")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def article_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    workdir = tmp_path_factory.mktemp("article")
    script = workdir / "service.py"
    script.write_text(textwrap.dedent(SERVICE))
    port, metrics_port = free_port(), free_port()
    proc = ManagedProcess("article", [sys.executable, str(script), str(port), str(metrics_port)],
                          log_path=workdir / "service.log").start()
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        proc.wait_ready(lambda: answers(metrics), 60)
        url = f"http://127.0.0.1:{port}"
        httpx.post(f"{url}/agent/run", timeout=10)  # the counter's label set exists after one request
        yield url, metrics
    finally:
        proc.stop()


def _detect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LOADGATE, "detect", *args], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3], check=False)


def test_detect_finds_the_article_preset_on_its_metrics_port(article_service: tuple[str, str]) -> None:
    url, metrics = article_service
    done = _detect("--target-url", url, "--metrics-url", metrics)
    assert done.returncode == 0, done.stderr
    assert "# fits preset seed-article" in done.stdout
    assert "matched  request_duration: agent_request_duration_seconds (no labels)" in done.stdout
    assert yaml.safe_load(done.stdout) == {"service": {"preset": "seed-article"}}


def test_detect_without_the_metrics_port_finds_nothing_and_says_why(article_service: tuple[str, str]) -> None:
    url, _ = article_service
    done = _detect("--target-url", url)
    assert done.returncode == 3
    assert "no preset fits" in done.stdout and "seed-article: no agent_request_duration_seconds_bucket" \
        in done.stdout


def test_detect_on_nothing_listening_is_exit_3() -> None:
    done = _detect("--target-url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 3
    assert "not reachable" in done.stderr
