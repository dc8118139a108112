"""Must-show (issue 17): a Redis outage made by `loadgate proxy tcp` between the bundled service and
its Redis (no admin API involved): the service keeps answering, redis_outage is graded, and the
proxy's refusals are in the report."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.proxy.conftest import LOADGATE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_redis_refused_on_the_wire_is_graded_and_shown(tmp_path: Path) -> None:
    checklist = Path(__file__).with_name("redis_checklist.yaml")
    done = subprocess.run(
        [LOADGATE, "gate", "--checklist", str(checklist), "--scenario", "redis_outage", "--backend",
         "simulated", "--proxy-redis", "--reports-dir", str(tmp_path), "--run-id", "r", "--no-progress"],
        env={**os.environ, "LOADGATE_DRAIN_S": "5"}, capture_output=True, text=True, timeout=480, check=False)
    verdict_path = tmp_path / "r" / "verdict.json"
    assert verdict_path.exists(), done.stderr[-3000:]
    verdict = json.loads(verdict_path.read_text())
    (item,) = [i for i in verdict["items"] if i["id"] == "redis_outage"]
    assert item["status"] == "pass", item["reason"]
    assert done.returncode == 0 and verdict["outcome"] == "GO"
    proxy = item["evidence"]["fault_proxy"]
    assert proxy["tcp_refused"] + proxy["tcp_cut"] > 0
    assert "the TCP fault proxy refused" in item["reason"]
    assert "the TCP fault proxy refused" in (tmp_path / "r" / "report.html").read_text()
    timeline = json.loads((tmp_path / "r" / "timeline.json").read_text())
    (scenario,) = timeline["scenarios"]
    events = scenario["params"]["fault_events"]
    assert [e["fault"] is not None for e in events if "fault" in e] == [True, False]
    assert all(e["result"] == "200" for e in events if "result" in e)
