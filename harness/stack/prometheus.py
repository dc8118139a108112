"""A real Prometheus with a generated scrape config (1 s interval) and the project's alert rules."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from harness.ports import LOOPBACK, pick_port
from harness.process import ManagedProcess, require_binary
from harness.schemas.files import write_atomic
from harness.stack.http import answers

READY_TIMEOUT_S = 30.0
SCRAPE_INTERVAL_S = 1


def alert_rules_path() -> Path:
    """The shipped rules file (the launch checklist's three alerts)."""
    return Path(str(resources.files("harness.stack") / "alert_rules.yml"))


def _scrape_job(job: str, where: str) -> dict:
    """``where``: host:port (its /metrics) or a full metrics URL (another path, another port)."""
    if "://" not in where:
        return {"job_name": job, "static_configs": [{"targets": [where]}]}
    url = urlsplit(where)
    return {"job_name": job, "scheme": url.scheme, "metrics_path": url.path or "/metrics",
            "static_configs": [{"targets": [url.netloc]}]}


def scrape_config(targets: dict[str, str], rule_files: list[Path],
                  alertmanager: str | None = None, interval_s: float = SCRAPE_INTERVAL_S) -> dict:
    """``targets`` maps job name -> host:port serving /metrics, or a metrics URL."""
    every = f"{interval_s:g}s"
    config: dict = {
        "global": {"scrape_interval": every, "evaluation_interval": every, "scrape_timeout": every},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [_scrape_job(job, where) for job, where in targets.items()],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def start_prometheus(workdir: Path, targets: dict[str, str], *, port: int | None = None,
                     rule_files: list[Path] | None = None, alertmanager: str | None = None,
                     interval_s: float = SCRAPE_INTERVAL_S) -> tuple[ManagedProcess, str]:
    """Start Prometheus scraping ``targets`` every ``interval_s`` (1 s for a run: a user's is read
    from its API instead); TSDB under ``workdir``. Returns the process and URL."""
    binary = require_binary("prometheus", "prometheus")
    port = pick_port(port, "prometheus")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    rules = [alert_rules_path()] if rule_files is None else rule_files
    config_path = workdir / "prometheus.yml"
    config = scrape_config(targets, rules, alertmanager, interval_s)
    write_atomic(config_path, yaml.safe_dump(config, sort_keys=False))
    argv = [
        binary, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address={LOOPBACK}:{port}", "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=30d", "--log.level=warn",
    ]
    proc = ManagedProcess("prometheus", argv, log_path=workdir / "prometheus.log").start()
    url = f"http://{LOOPBACK}:{port}"
    proc.wait_ready(lambda: answers(f"{url}/-/ready"), READY_TIMEOUT_S)
    return proc, url
