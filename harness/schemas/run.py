"""Who and where a run is: its identity (``run.json``), the endpoints it targets, its folder layout."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from harness.schemas.base import Contract, VersionedModel
from harness.schemas.files import make_dirs
from harness.schemas.requests import REQUEST_LOG
from harness.schemas.service import ServiceProfile, preset_profile


class MachineInfo(Contract):
    cores: int
    memory_bytes: int
    platform: str
    python: str
    versions: dict[str, str] = Field(default_factory=dict)


class Endpoints(Contract):
    """What the load and the probes talk to. Filled by the stack (spawned or user-given)."""

    target_url: str
    prometheus_url: str
    redis_url: str | None = None
    api_key: str
    # A second valid key, so probes can tell per-key limits from global ones; None when unknown.
    api_key_2: str | None = None
    admin_token: str | None = None
    # Host:port where Prometheus expects the load generator's exporter (None: not scraped).
    exporter_address: str | None = None
    # The service's JSON access log when loadgate can read it (the bundled service): probes use it.
    access_log: Path | None = None
    alertmanager_url: str | None = None
    # True when loadgate started the target itself (so it may inject faults and restart Redis).
    spawned_target: bool = False
    # How to talk to and read the target (harness.target); the bundled contract unless said otherwise.
    service: ServiceProfile = Field(default_factory=lambda: preset_profile("bundled"))
    # The service's metrics when not at the profile's path on the target (``--metrics-url``).
    metrics_url: str | None = None
    # Fault proxies the service's LLM and Redis traffic goes through (``--llm-proxy``,
    # ``--redis-proxy``: the TCP proxy's admin URL), and their admin token.
    llm_proxy_url: str | None = None
    redis_proxy_url: str | None = None
    proxy_token: str | None = None


class RunKind(StrEnum):
    """What a run folder holds, so the report and the index read it as what it is."""

    gate = "gate"  # load graded against the checklist: verdict.json, GO / NO-GO / INVALID
    capacity = "capacity"  # a capacity search: capacity.json, an answer in req/s and replicas, no verdict


class RunInfo(VersionedModel):
    FILE_NAME = "run.json"

    run_id: str
    command: str
    kind: RunKind = RunKind.gate
    profile: str
    started: float
    ended: float | None = None
    target_url: str
    prometheus_url: str
    git_commit: str | None = None
    loadgate_version: str | None = None
    # Seed of the load's random draws (arrival gaps, prompt picks, stream choices): `--seed` replays them.
    seed: int | None = None
    checklist_path: str
    checklist_sha256: str
    machine: MachineInfo
    scenarios: list[str] = Field(default_factory=list)
    # The service profile the run used, and how it was chosen ("checklist", "--service FILE",
    # "detected: ...", "bundled service").
    service: ServiceProfile | None = None
    service_source: str | None = None
    # The readiness path's JSON at start: the bundled service's says where its model runs ("llm":
    # backend, device, dtype, quantization, compiled).
    service_readiness: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_of_older_runs(cls, data: Any) -> Any:
        """run.json written before ``kind`` existed: its command says what kind of run it was."""
        if isinstance(data, dict) and "kind" not in data and data.get("command") == "capacity":
            return {**data, "kind": RunKind.capacity}
        return data


class RunFolder:
    """The layout of ``reports/<run-id>/``; the only place that knows file names."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def run_id(self) -> str:
        return self.root.name

    def ensure(self) -> RunFolder:
        make_dirs(self.root)
        return self

    @property
    def run_info(self) -> Path:
        return self.root / "run.json"

    @property
    def crash(self) -> Path:
        """The traceback of an exception the harness did not expect (exit 3)."""
        return self.root / "crash.txt"

    @property
    def timeline(self) -> Path:
        return self.root / "timeline.json"

    @property
    def verdict(self) -> Path:
        return self.root / "verdict.json"

    @property
    def series(self) -> Path:
        """What the grader read from Prometheus for charts, so the report outlives Prometheus."""
        return self.root / "series.json"

    @property
    def junit(self) -> Path:
        return self.root / "junit.xml"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def capacity(self) -> Path:
        return self.root / "capacity.json"

    def client_dir(self, scenario: str) -> Path:
        """Per-scenario client-side outputs: stats.json, requests.csv, locust_*.csv."""
        return self.root / "client" / scenario

    def client_stats(self, scenario: str) -> Path:
        return self.client_dir(scenario) / "stats.json"

    def request_log(self, scenario: str) -> Path:
        return self.client_dir(scenario) / REQUEST_LOG

    @property
    def stack_dir(self) -> Path:
        """Logs, configs and data of spawned processes (redis, prometheus, the service)."""
        return self.root / "stack"

    @property
    def diagnostics_dir(self) -> Path:
        return self.root / "diagnostics"

    @property
    def diagnosis(self) -> Path:
        return self.diagnostics_dir / "diagnosis.json"

    @property
    def overhead(self) -> Path:
        return self.diagnostics_dir / "overhead.json"

    @property
    def alerts(self) -> Path:
        """Alert notifications the embedded Alertmanager delivered to the harness (JSON lines)."""
        return self.root / "alerts.jsonl"
