"""Talking to the service outside the load: health and readiness, its own metrics (requests in
flight, breaker state, memory), the admin fault API where it has one, the probe request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.schemas.run import Endpoints
from harness.schemas.service import ServiceProfile
from harness.target import requests as req


def metrics_url(profile: ServiceProfile, target_url: str, given: str | None = None) -> str | None:
    """Where the service's metrics are: ``--metrics-url`` when given (the article's
    ``start_http_server`` port), else the profile's path on the target; None for none."""
    if given:
        return given
    if profile.metrics_path is None:
        return None
    return target_url.rstrip("/") + profile.metrics_path


def parse_exposition(text: str) -> dict[str, float]:
    """Samples summed by sample name (``agent_active_tasks``, ``http_requests_total``, ...)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


def labelled_counts(text: str, name: str) -> dict[str, float]:
    """One counter's samples summed by their label values joined with "/" (``timeout``,
    ``breaker_open``): the service's own account of why, beside what the client saw."""
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (name, f"{name}_total"):
                key = "/".join(v for _, v in sorted(sample.labels.items())) or "all"
                counts[key] = counts.get(key, 0.0) + sample.value
    return counts


# (method, url, JSON body, headers)
PreparedRequest = tuple[str, str, dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class TargetClient:
    """The service under test as the harness reaches it (``Endpoints`` carries the profile)."""

    profile: ServiceProfile
    target_url: str
    api_key: str | None = None
    admin_token: str | None = None
    metrics_url: str | None = None  # --metrics-url: where the metrics are when not on the target

    @classmethod
    def of(cls, endpoints: Endpoints) -> TargetClient:
        return cls(endpoints.service, endpoints.target_url.rstrip("/"), endpoints.api_key,
                   endpoints.admin_token, endpoints.metrics_url)

    @property
    def metrics(self) -> str | None:
        """The service's metrics URL; None for a service without metrics."""
        return metrics_url(self.profile, self.target_url, self.metrics_url)

    def url(self, path: str) -> str:
        return self.target_url + path

    # ------------------------------------------------------------ health

    def health_paths(self) -> list[str]:
        """The health and readiness paths the profile knows (none for a service without them)."""
        h = self.profile.health
        return [p for p in (h.health_path, h.ready_path) if p]

    def readiness(self, timeout_s: float = 5.0) -> dict[str, Any] | None:
        """What the readiness path answers, when it is a JSON object (the bundled service says there
        where its model runs); None without one, or on anything else."""
        path = self.profile.health.ready_path
        if not path:
            return None
        try:
            body = httpx.get(self.url(path), timeout=timeout_s, follow_redirects=False).json()
        except (httpx.HTTPError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def reachable_url(self) -> str:
        """What answers when the service is up: its health path, else its metrics, else the run path."""
        paths = self.health_paths()
        if paths:
            return self.url(paths[0])
        return self.metrics or self.url(self.profile.requests.run_path)

    # ------------------------------------------------------------ requests

    def request(self, prompt: str, *, session_id: str = "", max_tokens: int | None = None,
                stream: bool = False, api_key: str | None = None) -> PreparedRequest:
        """(method, url, json body, headers) of one agent request with the profile's template."""
        spec = self.profile.requests
        return (spec.method, self.url(req.path(spec, stream)),
                req.body(spec, prompt, session_id=session_id, max_tokens=max_tokens, stream=stream),
                req.headers(spec, self.api_key if api_key is None else api_key))

    def send(self, client: httpx.Client, prompt: str, **kwargs: Any) -> httpx.Response:
        method, url, body, headers = self.request(prompt, **kwargs)
        return client.request(method, url, json=body, headers=headers)

    # ------------------------------------------------------------ its own metrics

    def scrape(self, client: httpx.Client, timeout_s: float = 2.0) -> dict[str, float]:
        """The service's metrics now (summed by sample name); {} when it has none or cannot be read."""
        return self._read_metrics(client, parse_exposition, timeout_s)

    def degraded_counts(self, client: httpx.Client, timeout_s: float = 2.0) -> dict[str, float]:
        """The service's fallback-answer counter (``metrics.degraded``) by label values now; {} without."""
        series = self.profile.metrics.degraded
        if series is None:
            return {}
        return self._read_metrics(client, lambda text: labelled_counts(text, series.name), timeout_s)

    def _read_metrics(self, client: httpx.Client, parse: Callable[[str], dict[str, float]],
                      timeout_s: float) -> dict[str, float]:
        if self.metrics is None:
            return {}
        try:
            response = client.get(self.metrics, timeout=timeout_s)
            response.raise_for_status()
            return parse(response.text)
        except (httpx.HTTPError, ValueError):
            return {}

    def in_flight(self, values: dict[str, float]) -> float | None:
        gauge = self.profile.metrics.in_flight
        return values.get(gauge.name) if gauge else None

    def breaker_closed(self, values: dict[str, float]) -> bool:
        """True when the breaker reads closed, or the service exports no breaker gauge."""
        breaker = self.profile.metrics.breaker
        if breaker is None or breaker.name not in values:
            return True
        return values[breaker.name] == breaker.closed

    def rss(self, values: dict[str, float]) -> float | None:
        memory = self.profile.metrics.memory
        return values.get(memory.name) if memory else None

    # ------------------------------------------------------------ admin API (bundled)

    def has_fault_api(self) -> bool:
        return self.profile.admin is not None and bool(self.admin_token)

    def _admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token or ''}", "Content-Type": "application/json"}

    def set_faults(self, spec: dict[str, Any] | None, timeout_s: float = 10.0) -> httpx.Response:
        """PUT the fault spec (None: DELETE, i.e. clear every fault). Raises httpx errors."""
        if self.profile.admin is None:
            raise httpx.RequestError(f"the {self.profile.preset} profile has no admin fault API")
        url = self.url(self.profile.admin.faults_path)
        if spec is None:
            return httpx.delete(url, headers=self._admin_headers(), timeout=timeout_s)
        return httpx.put(url, content=json.dumps(spec), headers=self._admin_headers(), timeout=timeout_s)

    def memory_sites(self, top: int, timeout_s: float = 30.0) -> httpx.Response:
        """The admin API's tracemalloc top sites (the bundled service's ``GET /admin/memory``)."""
        admin = self.profile.admin
        if admin is None or admin.memory_path is None:
            raise httpx.RequestError(f"the {self.profile.preset} profile has no memory endpoint")
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        return httpx.get(self.url(admin.memory_path), params={"top": top}, headers=headers, timeout=timeout_s)
