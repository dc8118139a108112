"""Must-show (issue 17): an agent with no /admin/faults and no breaker gauge, its LLM reached through
`loadgate proxy llm`: the gate grades timeouts, degradation, errors and the breaker from behaviour.
GO with a timeout and a breaker; NO-GO naming timeouts_set and circuit_breaker without them. Each gate
has its own agent, proxy and upstream (25 req/s, simulated LLM)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import pytest

from harness.schemas.faults import TOKEN_ENV
from tests.e2e.proxy.conftest import AGENT_KEY, LOADGATE, TOKEN, Processes, start_agent_behind_proxy

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
CHECKLIST = Path(__file__).with_name("resilience_checklist.yaml")
ITEMS = ("timeouts_set", "degradation_ready", "fault_error_rate", "circuit_breaker")


def _gate(agent: str, proxy: str, reports: Path, log: IO[str]) -> subprocess.Popen[str]:
    env = {**os.environ, TOKEN_ENV: TOKEN, "LOADGATE_DRAIN_S": "8"}
    return subprocess.Popen(
        [LOADGATE, "gate", "--checklist", str(CHECKLIST), "--scenario", "llm_slowdown", "--target-url", agent,
         "--api-key", AGENT_KEY, "--llm-proxy", proxy, "--reports-dir", str(reports), "--run-id", "r",
         "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=log)  # a file: no pipe to fill up


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, tuple[int, dict]]]:
    """resilient -> (exit code, verdict). One gate after the other: side by side, the second agent's
    CPU degraded the resilient one's answers while its fault switched on (degradation_ready < 0.9)."""
    done = {}
    for resilient in (True, False):
        with ExitStack() as stack:
            reports = tmp_path_factory.mktemp(f"resilient-{resilient}")
            processes = Processes(reports / "logs")
            stack.callback(processes.stop_all)
            agent, proxy = start_agent_behind_proxy(processes, resilient)
            gate = _gate(agent, proxy, reports, stack.enter_context((reports / "gate.log").open("w")))
            stack.callback(lambda g=gate: g.poll() is None and g.kill())
            gate.wait(timeout=420)
            verdict = reports / "r" / "verdict.json"
            assert verdict.exists(), (reports / "gate.log").read_text()[-3000:]
            done[resilient] = gate.returncode, json.loads(verdict.read_text())
    yield done


def test_resilient_agent_is_go_from_behaviour(gated):
    code, verdict = gated[True]
    items = {i["id"]: i for i in verdict["items"]}
    assert {k: items[k]["status"] for k in ITEMS} == dict.fromkeys(ITEMS, "pass"), \
        {k: items[k]["reason"] for k in ITEMS}
    assert code == 0 and verdict["outcome"] == "GO"
    breaker = items["circuit_breaker"]
    assert breaker["evidence"]["gauge"] == "the service exports no breaker gauge"
    assert breaker["reason"].startswith("upstream calls vs cache misses")
    calls = breaker["evidence"]["upstream_calls_per_s"]
    assert sum(calls) > 0  # the proxy saw the agent's calls (before the breaker and after it closed)


def test_agent_without_timeout_and_breaker_is_no_go_naming_both(gated):
    code, verdict = gated[False]
    items = {i["id"]: i for i in verdict["items"]}
    assert code == 1 and verdict["outcome"] == "NO-GO"
    assert items["timeouts_set"]["status"] == "fail"
    assert items["circuit_breaker"]["status"] == "fail"
    # Either it kept calling to the end of the fault, or it stalled and the watchdog stopped the scenario.
    reason = items["circuit_breaker"]["reason"]
    assert "never opened" in reason or "no breaker kept it answering" in reason, reason
    assert "timeouts_set" in verdict["reason"] and "circuit_breaker" in verdict["reason"]
