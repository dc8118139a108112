"""An error burst on a planted target fires HighErrorRate through real Prometheus and Alertmanager,
and the notification reaches the harness's webhook receiver with its name and labels."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.prom import Prom
from harness.ports import LOOPBACK, free_port
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus
from harness.stack.alertmanager import WebhookReceiver, start_alertmanager
from harness.stack.prometheus import start_prometheus
from tests.integration.alerting.conftest import short_rules

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
DELIVERY_WAIT = 3.0


@pytest.fixture
def erroring_target() -> Iterator[str]:
    """A planted /metrics target: fast requests, half of them answered 500 (an error burst)."""
    registry = CollectorRegistry()
    requests = Counter(
        "agent_requests_total", "requests", ["method", "endpoint", "status"], registry=registry
    )
    duration = Histogram(
        "agent_request_duration_seconds",
        "latency",
        ["endpoint"],
        registry=registry,
        buckets=(0.5, 1, 2, 3, 5, 10),
    )
    port = free_port()
    server, _ = start_http_server(port, addr=LOOPBACK, registry=registry)
    stop = threading.Event()

    def traffic() -> None:
        while not stop.wait(0.05):
            for status in ("200", "500"):
                requests.labels("POST", "/v1/agent/run", status).inc()
                duration.labels("/v1/agent/run").observe(0.2)

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    yield f"{LOOPBACK}:{port}"
    stop.set()
    thread.join()
    server.shutdown()


def test_error_burst_notification_reaches_the_webhook(tmp_path: Path, erroring_target: str) -> None:
    with WebhookReceiver(tmp_path / "alerts.jsonl") as receiver:
        am_proc, am_url = start_alertmanager(tmp_path / "am", receiver.url)
        prom_proc = None
        try:
            prom_proc, _ = start_prometheus(
                tmp_path / "prom",
                {"agent": erroring_target},
                rule_files=[short_rules(tmp_path / "rules.yml")],
                alertmanager=am_url.removeprefix("http://"),
            )
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and not receiver.notifications():
                time.sleep(0.5)
        finally:
            if prom_proc is not None:
                prom_proc.stop()
            am_proc.stop()
        got = receiver.notifications()

    assert got, f"no notification within 45 s; alertmanager log: {am_proc.log_tail()}"
    assert {n.alertname for n in got} == {"HighErrorRate"}  # latency stayed low: no other alert
    first = got[0]
    assert first.status == "firing"
    assert first.labels == {"alertname": "HighErrorRate", "severity": "critical"}
    assert first.annotations["summary"].startswith("Agent error rate above 10%")
    assert first.received_at > 0 and first.starts_at
    # The record on disk is the same the receiver returned (what the checker will read).
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == len(got)


def test_rule_alert_lost_on_the_way_fails_delivery(tmp_path: Path, erroring_target: str) -> None:
    """Prometheus fires HighErrorRate but is not wired to the Alertmanager: the synthetic alert still
    arrives, yet the on-call path is broken for real alerts, and alert_delivery says which one."""
    folder = RunFolder(tmp_path / "run").ensure()
    began = time.time()
    with WebhookReceiver(folder.alerts) as receiver:
        am_proc, am_url = start_alertmanager(tmp_path / "am", receiver.url)
        prom_proc = None
        try:
            prom_proc, prom_url = start_prometheus(tmp_path / "prom", {"agent": erroring_target},
                                                   rule_files=[short_rules(tmp_path / "rules.yml")])
            prom = Prom(prom_url)
            deadline = time.monotonic() + 45
            firing = 'ALERTS{alertstate="firing"}'
            while time.monotonic() < deadline and not prom.instant(firing, time.time()):
                time.sleep(0.5)
            time.sleep(DELIVERY_WAIT)  # the probe only counts alerts that fired this long before it
            checklist = load_checklist(REPO / "checklist.yaml")
            item = next(i for i in checklist.items if i.id == "alert_delivery")
            item = item.model_copy(update={"params": {**item.params, "wait_s": DELIVERY_WAIT}})
            timeline = Timeline(run_id=folder.run_id, scenarios=[
                ScenarioRun(name="burst", status=ScenarioStatus.completed, start=began, end=time.time())])
            endpoints = Endpoints(target_url="http://127.0.0.1:9", prometheus_url=prom_url, api_key="k",
                                  alertmanager_url=am_url)
            ctx = GradeContext(checklist=checklist, profile="quick", endpoints=endpoints, prom=prom,
                               folder=folder, timeline=timeline)
            result = grade_item(ctx, item, {})
        finally:
            if prom_proc is not None:
                prom_proc.stop()
            am_proc.stop()

    assert result.status == ItemStatus.failed, result.reason
    assert result.evidence["fired_in_prometheus"] == ["HighErrorRate"]
    assert "Prometheus fired HighErrorRate" in result.reason and am_url in result.reason
    assert result.value is not None  # the synthetic alert itself was delivered, and timed
