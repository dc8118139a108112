"""A loopback OpenAI-compatible upstream and `loadgate proxy` processes in front of it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas.faults import TOKEN_ENV

TOKEN = "proxy-test-token"
LOADGATE = str(Path(sys.executable).with_name("loadgate"))


def _ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    started: list[ManagedProcess] = []

    def start(name: str, argv: list[str], ready_url: str,
              env: dict[str, str] | None = None) -> ManagedProcess:
        proc = ManagedProcess(name, argv, log_path=tmp_path / f"{name}.log", env=env).start()
        started.append(proc)
        proc.wait_ready(lambda: _ok(ready_url), timeout_s=60)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop(grace_s=5)


@pytest.fixture
def upstream_url(start_process: Callable[..., ManagedProcess]) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start_process("upstream", [sys.executable, "-m", "tests.integration.proxy.loopback_upstream", str(port)],
                  f"{url}/v1/models")
    return url


@pytest.fixture
def openai_server_url(start_process: Callable[..., ManagedProcess]) -> str:
    """The project's own OpenAI-compatible server (the bundled simulated backend behind it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start_process("openai-server", [sys.executable, "-m", "target_service.openai_server", "--port", str(port),
                                    "--backend", "simulated"], f"{url}/v1/models")
    return url


def _proxy(start_process: Callable[..., ManagedProcess], upstream: str) -> tuple[str, ManagedProcess]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_process("llm-proxy", [LOADGATE, "proxy", "llm", "--upstream", upstream,
                                       "--listen", f"127.0.0.1:{port}"],
                         f"{url}/_proxy/healthz", env={TOKEN_ENV: TOKEN})
    return url, proc


@pytest.fixture
def llm_proxy(start_process: Callable[..., ManagedProcess], upstream_url: str) -> tuple[str, ManagedProcess]:
    return _proxy(start_process, upstream_url)


@pytest.fixture
def proxy_to_openai_server(start_process: Callable[..., ManagedProcess], openai_server_url: str) -> str:
    return _proxy(start_process, openai_server_url)[0]


def set_fault(proxy_url: str, lease: dict, token: str = TOKEN) -> httpx.Response:
    return httpx.put(f"{proxy_url}/_proxy/fault", json=lease, headers={"Authorization": f"Bearer {token}"},
                     timeout=5)


@pytest.fixture
def tcp_proxy(start_process: Callable[..., ManagedProcess], redis_url: str) -> tuple[str, str]:
    """(redis URL through the proxy, admin URL) in front of the session's real redis-server."""
    upstream = redis_url.removeprefix("redis://").split("/")[0]
    port, admin = free_port(), free_port()
    start_process("tcp-proxy", [LOADGATE, "proxy", "tcp", "--upstream", upstream, "--listen",
                                f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"],
                  f"http://127.0.0.1:{admin}/_proxy/healthz", env={TOKEN_ENV: TOKEN})
    return f"redis://127.0.0.1:{port}/0", f"http://127.0.0.1:{admin}"
