"""The bundled service in the real topology (`loadgate gate --real-topology`): its LLM is an HTTP
upstream behind `loadgate proxy llm`, its Redis behind `loadgate proxy tcp`; the LLM slowdown is made
on the wire. Every resilience item is graded from what the wire and the client saw, and the breaker
shows both views (upstream calls, the service's gauge); a disagreement is named as a finding.

Not asserted: GO. On the shared 2-core machine the bundled service's LLM calls over HTTP+SSE overrun
its 1.5 s timeout in bursts and its breaker is open before the fault starts (issue 17 note)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.proxy.conftest import LOADGATE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_bundled_service_through_the_proxies_is_graded_from_the_wire_with_both_views(tmp_path: Path) -> None:
    checklist = Path(__file__).with_name("real_topology_checklist.yaml")
    done = subprocess.run(
        [LOADGATE, "gate", "--checklist", str(checklist), "--scenario", "llm_slowdown", "--real-topology",
         "simulated", "--reports-dir", str(tmp_path), "--run-id", "r", "--no-progress"],
        env={**os.environ, "LOADGATE_DRAIN_S": "5"}, capture_output=True, text=True, timeout=540, check=False)
    verdict_path = tmp_path / "r" / "verdict.json"
    assert verdict_path.exists(), done.stderr[-3000:]
    verdict = json.loads(verdict_path.read_text())
    items = {i["id"]: i for i in verdict["items"]}
    reasons = {k: v["reason"] for k, v in items.items()}
    assert all(v["status"] in ("pass", "fail") for v in items.values()), reasons
    assert done.returncode in (0, 1, 2)  # INVALID is possible: the machine is shared
    breaker = items["circuit_breaker"]
    assert "upstream calls vs cache misses" in breaker["reason"]  # the behaviour view decided
    views = breaker["evidence"]
    behaviour, gauge = views["behaviour"], views["gauge"]  # both views, side by side
    if "disagree" in breaker["reason"]:  # a disagreement named is a real one
        assert (behaviour["opened"], behaviour["closed_after_s"] is None) != \
            (gauge["opened"], gauge["closed_after_s"] is None)
    timeline = json.loads((tmp_path / "r" / "timeline.json").read_text())
    params = timeline["scenarios"][0]["params"]
    assert params["plan"]["llm_proxy_url"]  # the slowdown went to the LLM proxy, not /admin/faults
    events = [e for e in params["fault_events"] if "fault" in e]
    assert [e["result"] for e in events] == ["200", "200"]  # set, then cleared
    assert sum(views["upstream_calls_per_s"]) > 0
