"""Fault proxies the stack starts itself (``loadgate up`` / ``gate`` with ``--proxy-redis``,
``--proxy-llm-upstream`` or ``--real-topology``), and the OpenAI-compatible server the real topology
puts behind the LLM proxy: children that die with the harness, like every other part of the stack."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess
from harness.schemas.faults import ADMIN_PREFIX, TOKEN_ENV
from harness.stack.http import answers


def _start(name: str, args: list[str], admin_url: str, token: str, log: Path) -> ManagedProcess:
    argv = [sys.executable, "-m", "harness.cli", "proxy", *args]
    proc = ManagedProcess(name, argv, log_path=log, env={TOKEN_ENV: token}).start()
    proc.wait_ready(lambda: answers(f"{admin_url}{ADMIN_PREFIX}/healthz", timeout_s=2.0), 60.0)
    return proc


def start_redis_proxy(workdir: Path, redis_url: str, token: str) -> tuple[ManagedProcess, str, str]:
    """A TCP proxy in front of ``redis_url``: (process, redis URL through it, its admin URL)."""
    parts = urlsplit(redis_url)
    port, admin = free_port(), free_port()
    admin_url = f"http://{LOOPBACK}:{admin}"
    proc = _start("redis proxy", ["tcp", "--upstream", f"{parts.hostname}:{parts.port or 6379}", "--listen",
                                  f"{LOOPBACK}:{port}", "--admin-listen", f"{LOOPBACK}:{admin}"],
                  admin_url, token, workdir / "redis-proxy.log")
    return proc, parts._replace(netloc=f"{LOOPBACK}:{port}").geturl(), admin_url


def start_llm_proxy(workdir: Path, upstream: str, token: str) -> tuple[ManagedProcess, str]:
    """An LLM proxy in front of ``upstream`` (an OpenAI-compatible base URL): (process, its URL)."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    proc = _start("llm proxy", ["llm", "--upstream", upstream, "--listen", f"{LOOPBACK}:{port}"], url, token,
                  workdir / "llm-proxy.log")
    return proc, url


def start_llm_server(workdir: Path, backend: str) -> tuple[ManagedProcess, str, str]:
    """The bundled model served over the OpenAI API (``python -m target_service.openai_server``):
    (process, base URL, the model id it serves)."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    argv = [sys.executable, "-m", "target_service.openai_server", "--port", str(port), "--backend", backend]
    proc = ManagedProcess("llm server", argv, log_path=workdir / "llm-server.log",
                          env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}).start()
    proc.wait_ready(lambda: answers(f"{url}/v1/models", timeout_s=2.0), 300.0, interval_s=0.5)
    models = httpx.get(f"{url}/v1/models", timeout=10).json()["data"]
    return proc, url, models[0]["id"]
