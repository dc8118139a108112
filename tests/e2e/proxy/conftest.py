"""An LLM-client agent behind `loadgate proxy llm`, in front of the project's OpenAI-compatible
server (``python -m target_service.openai_server``, simulated backend)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas.faults import TOKEN_ENV

TOKEN = "proxy-e2e-token"
AGENT_KEY = "planted-agent-key"
LOADGATE = str(Path(sys.executable).with_name("loadgate"))


def _answers(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code < 500


class Processes:
    """Started processes of a test or a module, stopped in reverse order by ``stop_all``."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[ManagedProcess] = []

    def start(self, name: str, argv: list[str], port: int, ready_path: str,
              env: dict[str, str] | None = None) -> str:
        """Start one and wait until ``ready_path`` answers; returns its base URL."""
        url = f"http://127.0.0.1:{port}"
        proc = ManagedProcess(name, argv, log_path=self.logs / f"{name}.log", env=env).start()
        self.started.append(proc)
        proc.wait_ready(lambda: _answers(url + ready_path), timeout_s=90)
        return url

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop(grace_s=5)


def start_agent_behind_proxy(processes: Processes, resilient: bool) -> tuple[str, str]:
    """(agent URL, LLM proxy URL): the agent's OPENAI_BASE_URL is the proxy, in front of the
    OpenAI-compatible server."""
    up_port, proxy_port, agent_port = free_port(), free_port(), free_port()
    upstream = processes.start(
        "openai-server", [sys.executable, "-m", "target_service.openai_server", "--port", str(up_port),
                          "--backend", "simulated"], up_port, "/v1/models")
    proxy = processes.start(
        "llm-proxy", [LOADGATE, "proxy", "llm", "--upstream", upstream, "--listen",
                      f"127.0.0.1:{proxy_port}"], proxy_port, "/_proxy/healthz", env={TOKEN_ENV: TOKEN})
    agent = processes.start(
        "agent", [sys.executable, "-m", "tests.planted_services.llm_client_agent", "--port", str(agent_port)],
        agent_port, "/healthz", env={"OPENAI_BASE_URL": f"{proxy}/v1", "OPENAI_MODEL": "simulated",
                                     "AGENT_API_KEY": AGENT_KEY,
                                     "AGENT_RESILIENT": "1" if resilient else "0"})
    return agent, proxy


@pytest.fixture
def agent_behind_proxy(tmp_path: Path) -> Iterator[Callable[[bool], tuple[str, str]]]:
    """start(resilient) -> (agent URL, LLM proxy URL); every process stopped after the test."""
    processes = Processes(tmp_path / "logs")
    yield lambda resilient: start_agent_behind_proxy(processes, resilient)
    processes.stop_all()
