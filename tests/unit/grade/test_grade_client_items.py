"""Items graded from a request log and a timeline alone (no Prometheus, no service)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from grade_runs import write_run

from harness.checklist import load_checklist
from harness.grade import grade_run
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.schemas.checklist import Checklist, ChecklistItem
from harness.schemas.requests import SCHEMA_VERSION, VERSION_PREFIX
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import Timeline
from harness.schemas.verdict import Attestation, ItemStatus, Outcome, Verdict

REPO = Path(__file__).resolve().parents[3]
@pytest.fixture
def checklist() -> Checklist:
    return load_checklist(REPO / "checklist.yaml")


def context(checklist: Checklist, folder: RunFolder) -> GradeContext:
    return GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None,
                        prom_error="no Prometheus in a unit test", folder=folder,
                        timeline=Timeline.load_file(folder.timeline))


def items(checklist: Checklist) -> dict[str, ChecklistItem]:
    return {i.id: i for i in checklist.items}


def test_slowdown_items_from_the_request_log(tmp_path: Path, checklist: Checklist) -> None:
    rng = np.random.default_rng(3)
    fault = [(float(x), 200, i % 3 == 0, i % 3 != 0) for i, x in enumerate(rng.uniform(0.2, 1.8, 900))]
    fault[10] = (6.0, 200, False, True)  # one request sat out the whole slow LLM: no timeout on its path
    folder = write_run(tmp_path, "llm_slowdown", {"before": [(0.3, 200, False, False)] * 100, "fault": fault,
                                                  "recovery": [(0.3, 200, False, False)] * 100})
    ctx = context(checklist, folder)
    by_id = items(checklist)

    timeouts = grade_item(ctx, by_id["timeouts_set"], {})
    assert timeouts.status == ItemStatus.failed and timeouts.value == pytest.approx(6.0)
    assert timeouts.window is not None and timeouts.window.phase == "fault"

    degraded = grade_item(ctx, by_id["degradation_ready"], {})
    assert degraded.status == ItemStatus.passed  # every uncached answer degraded
    assert degraded.value == pytest.approx(1.0) and degraded.samples == 600

    errors = grade_item(ctx, by_id["fault_error_rate"], {})
    assert errors.status == ItemStatus.passed and errors.bound is not None and errors.bound < 0.01


def test_too_few_samples_is_no_data_never_pass(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_run(tmp_path, "concurrency_1000", {"hold": [(0.1, 200, False, False)] * 200})
    result = grade_item(context(checklist, folder), items(checklist)["concurrency_1000"], {})
    assert result.status == ItemStatus.no_data
    assert result.samples == 200 and "300" in result.reason


def test_client_p99_fails_on_a_slow_tail(tmp_path: Path, checklist: Checklist) -> None:
    rows = [(4.0 if i % 40 == 0 else 0.2, 200, False, False) for i in range(2000)]
    folder = write_run(tmp_path, "concurrency_1000", {"hold": rows})
    result = grade_item(context(checklist, folder), items(checklist)["concurrency_1000"], {})
    assert result.status == ItemStatus.failed
    assert result.value == pytest.approx(4.0) and result.interval is not None


def test_metric_items_without_prometheus_are_no_data(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_run(tmp_path, "target_2x", {"steady": [(0.1, 200, False, False)] * 10})
    result = grade_item(context(checklist, folder), items(checklist)["p99_latency"], {})
    assert result.status == ItemStatus.no_data and "no Prometheus" in result.reason


def test_missing_scenario_is_no_data(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_run(tmp_path, "target_2x", {"steady": [(0.1, 200, False, False)] * 10})
    result = grade_item(context(checklist, folder), items(checklist)["timeouts_set"], {})
    assert result.status == ItemStatus.no_data and "llm_slowdown did not run" in result.reason


def test_manual_item_passes_only_when_attested(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_run(tmp_path, "target_2x", {"steady": [(0.1, 200, False, False)] * 10})
    ctx, oncall = context(checklist, folder), items(checklist)["oncall_notified"]
    assert grade_item(ctx, oncall, {}).status == ItemStatus.failed
    attestation = Attestation(item="oncall_notified", by="lee", at="2026-11-24T15:00Z")
    attested = grade_item(ctx, oncall, {"oncall_notified": attestation})
    assert attested.status == ItemStatus.passed
    assert attested.attestation == attestation and "attested by lee" in attested.reason


def test_a_malformed_request_log_is_no_data_not_a_crash(tmp_path: Path, checklist: Checklist) -> None:
    folder = write_run(tmp_path / "run", "concurrency_1000", {"hold": [(0.1, 200, False, False)] * 10})
    folder.request_log("concurrency_1000").write_text(f"{VERSION_PREFIX}{SCHEMA_VERSION}\nwhen,how_long\n1,2\n")
    only = checklist.model_copy(update={"items": [items(checklist)["concurrency_1000"]]})
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    endpoints = Endpoints(target_url=dead, prometheus_url=dead, api_key="k")
    verdict = grade_run(folder.root, only, endpoints=endpoints, profile="quick")
    (result,) = verdict.items
    assert result.status == ItemStatus.no_data and "lacks columns" in result.reason
    assert verdict.outcome == Outcome.invalid
    assert any(dead in reason for reason in verdict.invalid_reasons)
    assert Verdict.load_file(folder.verdict).outcome == Outcome.invalid
