"""The configs the stack generates, checked by the tools that will read them (promtool, amtool):
what Prometheus scrapes and where it sends alerts, Alertmanager's route, the shipped alert rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from harness.checklist import load_checklist
from harness.process import require_binary
from harness.stack.alertmanager import alertmanager_config
from harness.stack.prometheus import SCRAPE_INTERVAL_S, alert_rules_path, scrape_config

REPO = Path(__file__).resolve().parents[3]


def _check(tool: str, package: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary(tool, package), *args], capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)


def test_scrape_config_is_valid_and_scrapes_each_target_where_it_serves(tmp_path: Path) -> None:
    config = scrape_config({"agent": "127.0.0.1:8000", "metrics": "https://127.0.0.1:9100/custom/metrics"},
                           [alert_rules_path()], alertmanager="127.0.0.1:9093")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    checked = _check("promtool", "prometheus", "check", "config", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["agent"]["static_configs"] == [{"targets": ["127.0.0.1:8000"]}]
    assert "metrics_path" not in jobs["agent"]  # Prometheus's default, /metrics
    assert (jobs["metrics"]["scheme"], jobs["metrics"]["metrics_path"]) == ("https", "/custom/metrics")
    assert jobs["metrics"]["static_configs"] == [{"targets": ["127.0.0.1:9100"]}]
    assert config["global"]["scrape_interval"] == f"{SCRAPE_INTERVAL_S}s"
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]
    assert "alerting" not in scrape_config({"agent": "127.0.0.1:8000"}, [])


def test_alertmanager_config_is_valid_and_routes_everything_to_the_webhook(tmp_path: Path) -> None:
    config = alertmanager_config("http://127.0.0.1:5001/alerts", group_wait_s=0.5)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    checked = _check("amtool", "prometheus-alertmanager", "check-config", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (receiver,) = config["receivers"]
    assert config["route"]["receiver"] == receiver["name"]
    assert receiver["webhook_configs"] == [{"url": "http://127.0.0.1:5001/alerts", "send_resolved": True}]
    # Grouping never waits less than a second between notifications, however short group_wait is.
    assert (config["route"]["group_wait"], config["route"]["group_interval"]) == ("500ms", "1s")


def test_the_shipped_rules_are_valid_and_hold_every_alert_the_checklist_names() -> None:
    checked = _check("promtool", "prometheus", "check", "rules", str(alert_rules_path()))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = yaml.safe_load(alert_rules_path().read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    checklist = load_checklist(REPO / "checklist.yaml")
    wanted = {name for item in checklist.items if item.probe == "alert_rules"
              for name in item.params["rules"]}
    assert wanted and wanted <= alerts
