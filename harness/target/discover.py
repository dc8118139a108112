"""``loadgate detect``: read a live service (its metrics endpoint, or the series a Prometheus holds for
it), pick the preset that fits, and render the result as YAML ready to paste, with what matched and
what is missing as comments. Loopback only, like every request the harness sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import yaml

from harness.errors import ConfigError, EndpointUnreachable
from harness.schemas.service import ServiceProfile, expand_service, preset_profile
from harness.target.client import metrics_url
from harness.target.detect import (
    Fit,
    Inventory,
    best_fit,
    inventory_from_series,
    inventory_from_text,
    openai_fit,
)
from harness.target.presets import merge

TIMEOUT_S = 5.0
_SKIPPED_JOBS = {"loadgate", "prometheus"}


@dataclass
class Detection:
    source: str  # what was read, for the header line
    chosen: Fit | None
    tried: list[Fit] = field(default_factory=list)
    job: str | None = None  # the Prometheus job the service's series carry, when read from Prometheus

    def spec(self) -> dict:
        """The ``service:`` mapping to paste (the job added when Prometheus showed another one)."""
        spec = require_fit(self).spec
        if self.job and self.job != self.chosen.profile().metrics.job:
            spec = merge(spec, {"metrics": {"job": self.job}})
        return spec

    def profile(self) -> ServiceProfile:
        return ServiceProfile.model_validate(expand_service(self.spec()))


def _get(client: httpx.Client, url: str, what: str) -> httpx.Response:
    try:
        return client.get(url, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise EndpointUnreachable(f"{what} at {url} is not reachable: {exc}") from exc


def _from_metrics(client: httpx.Client, url: str) -> Inventory:
    response = _get(client, url, "the service's metrics")
    if response.status_code != 200:
        return {}
    try:
        return inventory_from_text(response.text)
    except ValueError:
        return {}  # not Prometheus text: a service without metrics here


def _from_prometheus(client: httpx.Client, prometheus_url: str, job: str | None) -> dict[str, Inventory]:
    """Inventories by job (the one given, else every job Prometheus scrapes but its own and ours)."""
    base = prometheus_url.rstrip("/")
    if job is None:
        answer = _get(client, f"{base}/api/v1/label/job/values", "Prometheus").json()
        jobs = [j for j in answer.get("data", []) if j not in _SKIPPED_JOBS]
    else:
        jobs = [job]
    out = {}
    for name in jobs:
        query = urlencode({"match[]": f'{{job="{name}"}}'})
        answer = _get(client, f"{base}/api/v1/series?{query}", "Prometheus").json()
        out[name] = inventory_from_series(answer.get("data", []))
    return out


def _openai(client: httpx.Client, target_url: str, api_key: str | None) -> Fit | None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = client.get(f"{target_url.rstrip('/')}/v1/models", headers=headers, timeout=TIMEOUT_S)
        return openai_fit(response.json()) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def detect(target_url: str, *, metrics: str | None = None, prometheus_url: str | None = None,
           job: str | None = None, api_key: str | None = None) -> Detection:
    """Read the service and choose. Raises EndpointUnreachable when nothing answers at all."""
    with httpx.Client(follow_redirects=False) as client:
        if prometheus_url:
            by_job = _from_prometheus(client, prometheus_url, job)
            results = {j: best_fit(inv) for j, inv in by_job.items()}
            ranked = sorted(results.items(), key=lambda kv: kv[1][0].score if kv[1][0] else -1, reverse=True)
            if ranked and ranked[0][1][0] is not None:
                found_job, (chosen, tried) = ranked[0]
                return Detection(f"Prometheus {prometheus_url} job={found_job}", chosen, tried, found_job)
            tried = [f for _, (_, fits) in ranked for f in fits]
            return Detection(f"Prometheus {prometheus_url} jobs {sorted(by_job)}", _openai(
                client, target_url, api_key), tried)
        url = metrics or metrics_url(preset_profile("bundled"), target_url)
        chosen, tried = best_fit(_from_metrics(client, url))
        if chosen is None:
            chosen = _openai(client, target_url, api_key)
        return Detection(f"metrics {url}", chosen, tried)


def render(detection: Detection) -> str:
    """YAML to paste under checklist.yaml (or into a --service file), what matched and what is
    missing as comments; without a fit, why each preset did not fit."""
    lines = [f"# loadgate detect: read {detection.source}"]
    fit = detection.chosen
    if fit is None:
        lines.append("# no preset fits. What each one looked for:")
        for tried in detection.tried:
            missing = "; ".join(c.text for c in tried.checks if not c.ok) or "-"
            lines.append(f"#   {tried.preset}: {missing}")
        lines.append("# write a service: mapping by hand (README: 'Your own service').")
        return "\n".join(lines) + "\n"
    lines.append(f"# fits preset {fit.preset} ({fit.score} of {len(fit.checks)} series found)")
    lines += [f"#   matched  {c.measure}: {c.text}" for c in fit.checks if c.ok]
    lines += [f"#   missing  {c.measure}: {c.text} (absent until first used? else set it to null)"
              for c in fit.checks if not c.ok]
    lines.append(yaml.safe_dump({"service": detection.spec()}, sort_keys=False, allow_unicode=True).rstrip())
    return "\n".join(lines) + "\n"


def require_fit(detection: Detection) -> Fit:
    if detection.chosen is None:
        raise ConfigError(f"no service preset fits what {detection.source} exposes; "
                          f"run `loadgate detect` to see what each preset looked for")
    return detection.chosen
