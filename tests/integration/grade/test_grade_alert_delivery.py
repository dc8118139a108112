"""The alert_delivery probe against a real Alertmanager routing to the harness's webhook receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.checklist import load_checklist
from harness.grade.checks.alerts import DELIVERY_ALERT
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.ports import free_port
from harness.schemas.alerts import read_notifications
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.verdict import ItemResult, ItemStatus
from harness.stack.alertmanager import WebhookReceiver, start_alertmanager

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, RunFolder]]:
    folder = RunFolder(tmp_path / "run").ensure()
    with WebhookReceiver(folder.alerts) as receiver:
        proc, url = start_alertmanager(folder.stack_dir / "alertmanager", receiver.url)
        try:
            yield url, folder
        finally:
            proc.stop()


def _grade(folder: RunFolder, alertmanager_url: str | None, wait_s: float | None = None) -> ItemResult:
    checklist = load_checklist(REPO / "checklist.yaml")
    endpoints = Endpoints(target_url="http://127.0.0.1:9", prometheus_url="http://127.0.0.1:9", api_key="k",
                          alertmanager_url=alertmanager_url)
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=endpoints, prom=None, folder=folder)
    item = next(i for i in checklist.items if i.id == "alert_delivery")
    if wait_s is not None:
        item = item.model_copy(update={"params": {**item.params, "wait_s": wait_s}})
    return grade_item(ctx, item, {})


def _fire_rule_alert(url: str, folder: RunFolder) -> None:
    """A rule alert as Prometheus would send it, delivered before the probe runs."""
    now = time.time()
    alert = {"labels": {"alertname": "HighLatency", "severity": "warning"},
             "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
    httpx.post(f"{url}/api/v2/alerts", json=[alert]).raise_for_status()
    deadline = now + 15
    while not read_notifications(folder.alerts) and time.time() < deadline:
        time.sleep(0.1)


def test_synthetic_alert_is_delivered_and_rule_alerts_are_listed(
        alertmanager: tuple[str, RunFolder]) -> None:
    url, folder = alertmanager
    _fire_rule_alert(url, folder)
    result = _grade(folder, url)
    assert result.status == ItemStatus.passed, result.reason
    assert result.value is not None and 0 < result.value < 15 and result.unit == "s"
    labels = result.evidence["labels"]
    assert labels["alertname"] == DELIVERY_ALERT and labels["severity"] == "info"
    assert labels["run_id"] == folder.run_id
    assert result.evidence["receiver_file"] == str(folder.alerts)
    assert result.evidence["received_at"] > result.evidence["posted_at"]
    assert [a["alertname"] for a in result.evidence["rule_alerts"]] == ["HighLatency"]
    assert "HighLatency" in result.reason
    recorded = [n for n in read_notifications(folder.alerts) if n.alertname == DELIVERY_ALERT]
    assert [n.labels["check_id"] for n in recorded] == [labels["check_id"]]


def test_no_alertmanager_is_no_data_and_a_dead_one_fails(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run").ensure()
    result = _grade(folder, None)
    assert result.status == ItemStatus.no_data
    assert "no Alertmanager known to loadgate" in result.reason
    dead = _grade(folder, f"http://127.0.0.1:{free_port()}")
    assert dead.status == ItemStatus.failed and "did not answer" in dead.reason


def test_alert_routed_nowhere_fails(tmp_path: Path) -> None:
    """Alertmanager accepts the alert but its webhook leads to no receiver: not delivered, so failed."""
    folder = RunFolder(tmp_path / "run").ensure()
    proc, url = start_alertmanager(folder.stack_dir / "alertmanager", f"http://127.0.0.1:{free_port()}/alerts")
    try:
        result = _grade(folder, url, wait_s=3)
    finally:
        proc.stop()
    assert result.status == ItemStatus.failed, result.reason
    assert "did not reach the receiver" in result.reason and result.value is None
