"""The bundled reference agent service (``python -m target_service``) under uvicorn."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.ports import LOOPBACK, pick_port
from harness.process import ManagedProcess
from harness.stack.http import answers


def start_service(workdir: Path, *, redis_url: str, api_keys: list[str], admin_token: str,
                  workers: int = 1, backend: str = "local", port: int | None = None,
                  extra_env: dict[str, str] | None = None,
                  ready_timeout_s: float = 300.0) -> tuple[ManagedProcess, str, Path]:
    """Start the service and wait until /readyz answers 200 (model loaded, Redis reachable).

    Returns the process, its base URL and the path of its JSON access log. The first start on a
    machine builds the model and the retrieval index, hence the generous timeout.
    """
    port = pick_port(port, "target service")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    access_log = workdir / "access.log"
    env = {
        "AGENT_REDIS_URL": redis_url,
        "AGENT_API_KEYS": ",".join(api_keys),
        "AGENT_ADMIN_TOKEN": admin_token,
        "AGENT_LLM_BACKEND": backend,
        "AGENT_ACCESS_LOG": str(access_log),
        "AGENT_STATE_DIR": str(workdir / "state"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **(extra_env or {}),
    }
    argv = [sys.executable, "-m", "target_service", "--host", LOOPBACK, "--port", str(port),
            "--workers", str(workers)]
    proc = ManagedProcess("target service", argv, log_path=workdir / "service.log", env=env).start()
    url = f"http://{LOOPBACK}:{port}"
    proc.wait_ready(lambda: answers(f"{url}/readyz", timeout_s=2.0), ready_timeout_s, interval_s=0.5)
    return proc, url, access_log
