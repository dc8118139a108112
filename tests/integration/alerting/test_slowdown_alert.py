"""The LLM slowdown, run by the load runner against the real service, fires the latency alerts in a
real Prometheus, and Alertmanager delivers them to the harness's webhook receiver.

The rules are the shipped ones with 20 s windows and a 2 s ``for`` (thresholds unchanged). The
service's LLM timeout is raised to 20 s, so the 11 s slowdown reaches the users instead of being
cut at 1.5 s and degraded (which is what the bundled service does, and why its gate stays quiet).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.prom import Prom
from harness.load import run_scenario
from harness.schemas.checklist import FaultSpec, ScenarioPlan
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Timeline
from harness.schemas.verdict import ItemStatus
from harness.stack import Stack, StackSettings
from tests.integration.alerting.conftest import short_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
DELAY_S = 11.0  # above HighLatency's 5 s (request P99) and LLMLatencyHigh's 10 s (LLM P95)


@pytest.mark.timeout(300)
def test_llm_slowdown_alerts_reach_the_webhook(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run").ensure()
    settings = StackSettings(
        run_dir=folder.root, backend="simulated", alert_rules=[short_rules(tmp_path / "rules.yml", "20s")],
        service_env={"AGENT_LLM_TIMEOUT_S": "20", "AGENT_BREAKER_FAILURE_THRESHOLD": "1000"})
    checklist = load_checklist(REPO / "checklist.yaml").model_copy(update={"target_qps": 3})
    plan = ScenarioPlan(warmup_s=0, steady_s=5, rate_x=1, stream_share=0, fresh_share=1.0,
                        fault=FaultSpec(llm_delay_s=DELAY_S), fault_s=45, recovery_s=3)
    with Stack(settings) as stack:
        run = run_scenario("llm_slowdown", checklist=checklist, profile="quick", endpoints=stack.endpoints,
                           run_folder=folder, progress=False, plan=plan)
        receiver = stack.alert_receiver
        assert receiver is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {"HighLatency", "LLMLatencyHigh"} - \
                {n.alertname for n in receiver.notifications()}:
            time.sleep(0.5)
        got = receiver.notifications()
        # The checker's on-call path measure: the synthetic alert arrives, and every alert Prometheus
        # fired during the run is among the delivered ones.
        checklist_item = next(i for i in checklist.items if i.id == "alert_delivery")
        ctx = GradeContext(checklist=checklist, profile="quick", endpoints=stack.endpoints,
                           prom=Prom(stack.endpoints.prometheus_url), folder=folder,
                           timeline=Timeline.load_file(folder.timeline))
        graded = grade_item(ctx, checklist_item, {})

    fault_start, _ = run.window("fault")
    firing = {n.alertname: n for n in got if n.status == "firing"}
    assert {"HighLatency", "LLMLatencyHigh"} <= set(firing), [n.alertname for n in got]
    assert "HighErrorRate" not in firing  # slow, not failing: no 5xx
    for name, severity in (("HighLatency", "warning"), ("LLMLatencyHigh", "warning")):
        note = firing[name]
        assert note.labels["alertname"] == name and note.labels["severity"] == severity
        # The alert began after the slowdown did, and was delivered after it began.
        started = datetime.fromisoformat(note.starts_at.replace("Z", "+00:00")).timestamp()
        assert fault_start < started < note.received_at
    assert firing["LLMLatencyHigh"].labels["model"]  # the rule keeps the model label
    # Delivered while the run still watched: the 30 s wait above is its (liveness) deadline; no
    # wall-clock bound against the fault's end, which a busy machine's drain could stretch.
    assert firing["HighLatency"].received_at > fault_start
    assert graded.status == ItemStatus.passed, graded.reason
    assert {"HighLatency", "LLMLatencyHigh"} <= set(graded.evidence["fired_in_prometheus"])
    assert "HighLatency" in graded.reason
