"""Start a planted service (or the OpenAI-compatible server) for a test, on free loopback ports, and
stop it, its process group included. Standard library and httpx only, like the services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.planted_services.common import LOOPBACK

REPO = Path(__file__).resolve().parents[2]
# style -> (module, run path, whether metrics live on a port of their own)
STYLES = {
    "bundled": ("tests.planted", "/v1/agent/run", False),  # the older planted service: the bundled style
    "seed_article": ("tests.planted_services.seed_article", "/agent/run", True),
    "instrumentator": ("tests.planted_services.instrumentator", "/v1/agent/run", False),
    "otel": ("tests.planted_services.otel", "/v1/agent/run", True),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    style: str
    proc: subprocess.Popen[bytes]
    url: str  # the service
    metrics_url: str  # where its Prometheus text is served
    run_path: str
    log: Path
    health_path: str = "/healthz"
    ready_timeout_s: float = 90.0

    def wait_ready(self) -> None:
        wait_ready(self.proc, f"{self.url}{self.health_path}", self.log, self.ready_timeout_s)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def spawn_module(module: str, args: list[str], log: Path, port: int,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m module --port PORT args...`` in its own process group, output to ``log``, with
    ``env`` added to this process's environment."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own argv, no shell
            [sys.executable, "-m", module, "--port", str(port), *args], cwd=REPO, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **env} if env else None)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 90.0) -> None:
    """Until ``url`` answers 2xx; the process is killed and the log tail raised when it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"{proc.args} did not answer {url} within {timeout_s} s: {log.read_text()[-2000:]}")


def spawn_openai_server(workdir: Path, key: str, env: dict[str, str] | None = None,
                        backend: str = "simulated") -> Running:
    """``python -m target_service.openai_server`` on a free port, accepting only ``key``; ``env``:
    its ``AGENT_*`` settings (the simulated backend's timings, ``AGENT_SIM_TRACE_PATH``). Started,
    not waited for (``Running.wait_ready``)."""
    port = free_port()
    log = workdir / f"openai-{backend}-{port}.log"
    proc = spawn_module("target_service.openai_server", ["--backend", backend, "--api-key", key], log, port,
                        env)
    url = f"http://{LOOPBACK}:{port}"
    # The model loads in the lifespan: the local backend may take minutes on a busy machine.
    return Running("openai", proc, url, f"{url}/metrics", "/v1/chat/completions", log, health_path="/health",
                   ready_timeout_s=180.0)


@contextmanager
def openai_server(workdir: Path, key: str, env: dict[str, str] | None = None,
                  backend: str = "simulated") -> Iterator[Running]:
    """``spawn_openai_server``, ready, and stopped (its process group) when the block ends."""
    server = spawn_openai_server(workdir, key, env, backend)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def spawn_style(style: str, workdir: Path, *args: str) -> Running:
    """A planted service of ``style`` (see STYLES) with extra command-line ``args`` (its faults),
    started but not waited for (``Running.wait_ready``): several start faster side by side."""
    module, run_path, own_metrics_port = STYLES[style]
    port = free_port()
    argv = list(args)
    metrics_url = f"http://{LOOPBACK}:{port}/metrics"
    if own_metrics_port:
        metrics_port = free_port()
        argv += ["--metrics-port", str(metrics_port)]
        metrics_url = f"http://{LOOPBACK}:{metrics_port}/metrics"
    log = workdir / f"{style}-{port}.log"
    return Running(style, spawn_module(module, argv, log, port), f"http://{LOOPBACK}:{port}", metrics_url,
                   run_path, log)


def start_style(style: str, workdir: Path, *args: str) -> Running:
    """``spawn_style``, ready: its /healthz answers."""
    service = spawn_style(style, workdir, *args)
    service.wait_ready()
    return service
