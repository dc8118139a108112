"""Start, health-check and stop what a run needs: redis-server, prometheus, the target service.

Anything the user already runs is used instead (``target_url``, ``prometheus_url``, ``redis_url``).
Knows no threshold; only the stack's lifecycle.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from harness.errors import ConfigError
from harness.hosts import AllowedHost, HostAllowlist
from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.service import ServiceProfile, preset_profile
from harness.schemas.timeline import TARGET_COMPONENT
from harness.stack.alertmanager import WebhookReceiver, start_alertmanager
from harness.stack.http import require_reachable
from harness.stack.preflight import preflight
from harness.stack.prometheus import start_prometheus
from harness.stack.proxies import start_llm_proxy, start_llm_server, start_redis_proxy
from harness.stack.redis import start_redis
from harness.stack.service import start_service
from harness.stack.watchdog import Watchdog, Watched
from harness.target.client import TargetClient, metrics_url

__all__ = ["Stack", "StackSettings", "Watchdog", "Watched"]


class StackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Hosts besides loopback that may be sent to (--allow-host, LOADGATE_ALLOW_HOSTS); before the
    # URLs, so their validators see it.
    allow_hosts: list[str] = []

    # Where the stack keeps its logs, configs and data (the run folder); a temp dir when unset.
    run_dir: Path | None = None
    workers: int = Field(1, ge=1, description="uvicorn workers of the bundled service")
    backend: Literal["local", "simulated", "openai"] = "local"
    target_url: str | None = None
    prometheus_url: str | None = None
    redis_url: str | None = None
    # For a user's own target: its keys (the bundled service gets generated ones).
    api_key: str | None = None
    api_key_2: str | None = None
    admin_token: str | None = None
    access_log: Path | None = None
    # How to talk to and read the target (None: the bundled contract) and where its metrics are
    # when not on the target itself (``--metrics-url``).
    service: ServiceProfile | None = None
    metrics_url: str | None = None
    llm_proxy_url: str | None = None
    redis_proxy_url: str | None = None
    proxy_token: str | None = None
    # Start fault proxies between the bundled service and its Redis / its OpenAI-compatible LLM
    # (``backend='openai'``), so faults happen on the wire; their URLs fill the two above.
    proxy_redis: bool = False
    proxy_llm_upstream: str | None = None
    # The real topology: the bundled model served over the OpenAI API by its own process (this
    # backend behind it), the bundled service's openai backend reaching it through an LLM proxy.
    llm_server_backend: Literal["local", "simulated"] | None = None
    service_env: dict[str, str] = {}
    # Rule files for the embedded Prometheus instead of the shipped alert_rules.yml (e.g. a copy with
    # short windows, so a test sees an alert fire in seconds).
    alert_rules: list[Path] | None = None
    ready_timeout_s: float = 300.0

    @field_validator("allow_hosts")
    @classmethod
    def _hosts(cls, texts: list[str]) -> list[str]:
        try:
            return [str(AllowedHost.parse(t)) for t in texts]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("target_url", "prometheus_url", "redis_url", "metrics_url", "llm_proxy_url",
                     "redis_proxy_url", "proxy_llm_upstream")
    @classmethod
    def _loopback_or_allowed(cls, url: str | None, info: ValidationInfo) -> str | None:
        # Load goes to this machine unless the user allowed a host: a remote URL is refused loudly.
        if url is None:
            return url
        return HostAllowlist.validated(url, info.data.get("allow_hosts", [])).rstrip("/")


class Stack:
    """Context manager: ``with Stack(settings) as stack: stack.endpoints``. Tears down on every exit."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.processes: list[ManagedProcess] = []
        self.service_process: ManagedProcess | None = None  # the bundled service, when we started it
        self.prometheus_process: ManagedProcess | None = None  # the embedded Prometheus, when we started it
        self.alert_receiver: WebhookReceiver | None = None
        self._endpoints: Endpoints | None = None

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("stack not started")
        return self._endpoints

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _own(self, started: tuple) -> tuple:
        self.processes.append(started[0])
        return started[1:]

    def _start_proxies(self, stack_dir: Path, redis_url: str | None) -> dict:
        """Start the fault proxies asked for; the service's settings and the endpoints they change."""
        s = self.settings
        if not (s.proxy_redis or s.proxy_llm_upstream or s.llm_server_backend):
            return {}
        if s.target_url is not None:
            raise ConfigError("--proxy-redis / --proxy-llm-upstream put proxies in front of the bundled "
                              "service; for your own service run `loadgate proxy` and give --llm-proxy / "
                              "--redis-proxy", field="proxy_redis")
        token = s.proxy_token or f"lg-proxy-{secrets.token_hex(12)}"
        out: dict = {"proxy_token": token, "service_env": {}}
        if s.proxy_redis and redis_url is not None:
            out["service_redis_url"], out["redis_proxy_url"] = self._own(
                start_redis_proxy(stack_dir / "proxies", redis_url, token))
        upstream = s.proxy_llm_upstream
        if s.llm_server_backend:
            upstream, model = self._own(start_llm_server(stack_dir / "proxies", s.llm_server_backend))
            out["service_env"]["AGENT_OPENAI_MODEL"] = model
        if upstream:
            (out["llm_proxy_url"],) = self._own(start_llm_proxy(stack_dir / "proxies", upstream, token))
            out["service_env"]["AGENT_OPENAI_BASE_URL"] = out["llm_proxy_url"]
        return out

    def start(self) -> Endpoints:
        s = self.settings
        folder = RunFolder(Path(s.run_dir or tempfile.mkdtemp(prefix="loadgate-")))
        stack_dir = folder.stack_dir
        redis_url = s.redis_url
        if redis_url is None and s.target_url is None:
            (redis_url,) = self._own(start_redis(stack_dir / "redis"))

        proxies = self._start_proxies(stack_dir, redis_url)
        service = s.service or preset_profile("bundled")
        if s.target_url is None:
            api_key, api_key_2 = f"lg-{secrets.token_hex(8)}", f"lg-{secrets.token_hex(8)}"
            admin_token = f"lg-admin-{secrets.token_hex(12)}"
            target_url, access_log = self._own(start_service(
                stack_dir / "service", redis_url=proxies.get("service_redis_url", redis_url),
                api_keys=[api_key, api_key_2], admin_token=admin_token, workers=s.workers,
                backend="openai" if s.llm_server_backend else s.backend,
                extra_env={**proxies.get("service_env", {}), **s.service_env},
                ready_timeout_s=s.ready_timeout_s))
            self.service_process = self.processes[-1]
            spawned = True
        else:
            if not s.api_key:
                raise ConfigError("a target given with --target-url needs its API key (LOADGATE_API_KEY "
                                  "or --api-key-file)", field="api_key")
            require_reachable(TargetClient(service, s.target_url, metrics_url=s.metrics_url).reachable_url(),
                              "target service")
            target_url, access_log, spawned = s.target_url, s.access_log, False
            api_key, api_key_2, admin_token = s.api_key, s.api_key_2, s.admin_token
        preflight(TargetClient(service, target_url, api_key))  # before any load: a refused key stops here

        exporter_address = f"{LOOPBACK}:{free_port()}"
        prometheus_url = s.prometheus_url
        alertmanager_url = None
        if prometheus_url is None:
            # Alerts go to a receiver inside the harness, so delivery itself can be graded.
            self.alert_receiver = WebhookReceiver(folder.alerts).start()
            (alertmanager_url,) = self._own(start_alertmanager(stack_dir / "alertmanager",
                                                               self.alert_receiver.url))
            scraped = {"loadgate": exporter_address}
            service_metrics = metrics_url(service, target_url, s.metrics_url)
            if service_metrics:
                scraped[service.metrics.job] = service_metrics
            (prometheus_url,) = self._own(start_prometheus(
                stack_dir / "prometheus", scraped,
                rule_files=s.alert_rules, alertmanager=alertmanager_url.removeprefix("http://")))
            self.prometheus_process = self.processes[-1]
        else:
            require_reachable(f"{prometheus_url}/-/ready", "Prometheus")

        self._endpoints = Endpoints(
            target_url=target_url, prometheus_url=prometheus_url, redis_url=redis_url,
            api_key=api_key, api_key_2=api_key_2, admin_token=admin_token,
            exporter_address=exporter_address, access_log=access_log, spawned_target=spawned,
            alertmanager_url=alertmanager_url, service=service, metrics_url=s.metrics_url,
            llm_proxy_url=proxies.get("llm_proxy_url", s.llm_proxy_url),
            redis_proxy_url=proxies.get("redis_proxy_url", s.redis_proxy_url),
            proxy_token=proxies.get("proxy_token", s.proxy_token),
        )
        return self._endpoints

    def watched(self) -> list[Watched]:
        """What a scenario depends on, for the watchdog: processes we started, URLs we were given."""
        ends = self.endpoints
        return [
            Watched(TARGET_COMPONENT, process=self.service_process,
                    url=TargetClient.of(ends).reachable_url()),
            Watched("prometheus", process=self.prometheus_process, url=f"{ends.prometheus_url}/-/ready"),
        ]

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        if self.alert_receiver is not None:
            self.alert_receiver.stop()
            self.alert_receiver = None
