"""A throwaway redis-server: loopback only, no persistence, its own directory."""

from __future__ import annotations

from pathlib import Path

import redis

from harness.ports import LOOPBACK, pick_port
from harness.process import ManagedProcess, require_binary

READY_TIMEOUT_S = 15.0


def start_redis(workdir: Path, port: int | None = None) -> tuple[ManagedProcess, str]:
    """Start redis-server and wait for PING. Returns the process and its URL."""
    binary = require_binary("redis-server", "redis-server")
    port = pick_port(port, "redis-server")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [binary, "--bind", LOOPBACK, "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(workdir), "--daemonize", "no", "--protected-mode", "yes"]
    proc = ManagedProcess("redis-server", argv, log_path=workdir / "redis.log").start()
    url = f"redis://{LOOPBACK}:{port}/0"

    def ping() -> bool:
        client = redis.Redis.from_url(url, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()

    proc.wait_ready(ping, READY_TIMEOUT_S)
    return proc, url
