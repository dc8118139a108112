"""One real service per need, shared: a local-backend service (1 worker) with its own redis-server
(so tests may stop it), and a simulated-backend service with 2 uvicorn workers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from harness.process import ManagedProcess
from harness.stack.redis import start_redis
from harness.stack.service import start_service

KEYS = ["svc-test-key-1", "svc-test-key-2", "svc-test-key-burst"]
ADMIN = "svc-test-admin"


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


@dataclass
class Service:
    url: str
    access_log: Path
    proc: ManagedProcess
    redis: ManagedProcess
    redis_url: str

    def client(self, key: str | None = KEYS[0], **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kw)

    def admin(self) -> httpx.Client:
        return self.client(ADMIN)

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10.0).text

    def restart_redis(self) -> None:
        """Same argv, same port. Not start_redis(port=...): its free-port check fails while the old
        server's closed sockets sit in TIME_WAIT, which redis-server itself binds through."""
        self.redis = ManagedProcess("redis-server", self.redis.argv, log_path=self.redis.log_path).start()
        client = redis.Redis.from_url(self.redis_url, socket_timeout=0.5)
        self.redis.wait_ready(lambda: bool(client.ping()), 15)


def start(tmp: Path, *, backend: str, workers: int, env: dict[str, str]) -> Service:
    redis_proc, redis_url = start_redis(tmp / "redis")
    try:
        proc, url, access_log = start_service(tmp / "service", redis_url=redis_url, api_keys=KEYS,
                                              admin_token=ADMIN, workers=workers, backend=backend,
                                              extra_env=env)
    except Exception:
        redis_proc.stop()
        raise
    return Service(url, access_log, proc, redis_proc, redis_url)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Local backend: the real tiny Llama, dynamic batching. A short breaker reset keeps tests quick;
    a per-key limit of 50/s (burst 100) makes a 500-request burst hit 429 on any machine speed."""
    svc = start(tmp_path_factory.mktemp("svc-local"), backend="local", workers=1,
                 env={"AGENT_BREAKER_RESET_S": "1", "AGENT_REDIS_RETRY_AFTER_S": "0.2",
                      "AGENT_KEY_RATE_PER_S": "50", "AGENT_KEY_BURST": "100"})
    yield svc
    svc.proc.stop()
    svc.redis.stop()


@pytest.fixture(scope="session")
def service_2w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Simulated backend under two uvicorn workers (multiprocess metrics, shared faults)."""
    svc = start(tmp_path_factory.mktemp("svc-2w"), backend="simulated", workers=2,
                 env={"AGENT_SIM_TTFT_S": "0.02", "AGENT_SIM_PER_TOKEN_S": "0.001",
                      "AGENT_LLM_TIMEOUT_S": "3"})
    yield svc
    svc.proc.stop()
    svc.redis.stop()
