"""Item states beyond pass/fail: an item whose grading raises (error), waived items, and the outputs that
must still be written around them."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from grade_runs import write_run

from harness.checklist import load_checklist
from harness.errors import ConfigError
from harness.grade import grade_run, items
from harness.ports import free_port
from harness.report import render_run
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.verdict import ItemStatus, Verdict

REPO = Path(__file__).resolve().parents[3]
SLOWDOWN_ITEMS = ("timeouts_set", "degradation_ready", "fault_error_rate")
WAIVE = """
waive:
  - {item: timeouts_set, reason: "LLM timeout lands in 2.1 with the new client", by: alice}
"""


def _checklist(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "checklist.yaml"
    path.write_text((REPO / "checklist.yaml").read_text() + extra)
    return path


def _slowdown_run(root: Path) -> RunFolder:
    fault = [(0.5, 200, False, True)] * 600
    fault[10] = (6.0, 200, False, True)  # the slowest request breaks timeouts_set's 5 s
    return write_run(root, "llm_slowdown", {"before": [(0.3, 200, False, False)] * 100, "fault": fault,
                                            "recovery": [(0.3, 200, False, False)] * 100})


def _grade(checklist_path: Path, folder: RunFolder) -> Verdict:
    shipped = load_checklist(checklist_path)
    checklist = shipped.model_copy(update={"items": [i for i in shipped.items if i.id in SLOWDOWN_ITEMS]})
    endpoints = Endpoints(target_url="http://127.0.0.1:9", api_key="k",
                          prometheus_url=f"http://127.0.0.1:{free_port()}")  # none: client items only
    return grade_run(folder.root, checklist, endpoints=endpoints)


def test_an_item_that_raises_is_error_and_everything_else_is_still_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: object, item: object) -> None:
        return 1 / 0  # a bug in one measurement

    monkeypatch.setitem(items.MEASURES, "degraded_ratio", broken)
    folder = _slowdown_run(tmp_path / "run")
    verdict = _grade(_checklist(tmp_path), folder)
    by_id = {i.id: i for i in verdict.items}
    assert by_id["degradation_ready"].status == ItemStatus.error
    assert "ZeroDivisionError" in by_id["degradation_ready"].reason
    assert "1 / 0" in by_id["degradation_ready"].evidence["traceback"]
    assert by_id["timeouts_set"].status == ItemStatus.failed  # the others were graded
    assert by_id["fault_error_rate"].status == ItemStatus.passed
    assert Verdict.load_file(folder.verdict).items == verdict.items
    junit = ET.parse(folder.junit).getroot()
    assert junit.get("errors") == "1"
    html = render_run(folder).read_text()
    assert 'class="pill error"' in html and "ZeroDivisionError" in html


def test_a_waived_item_shows_as_waived_with_what_was_measured(tmp_path: Path) -> None:
    folder = _slowdown_run(tmp_path / "run")
    verdict = _grade(_checklist(tmp_path, WAIVE), folder)
    waived = next(i for i in verdict.items if i.id == "timeouts_set")
    assert waived.status == ItemStatus.waived and waived.measured_status == ItemStatus.failed
    assert waived.waiver is not None and waived.waiver.by == "alice"
    assert waived.reason.startswith("waived by alice: LLM timeout lands in 2.1")
    assert waived not in verdict.failed_blockers
    cases = ET.parse(folder.junit).getroot().iter("testcase")
    case = next(c for c in cases if c.get("name") == "timeouts_set")
    assert case.find("skipped") is not None and case.find("failure") is None
    html = render_run(folder).read_text()
    assert "Waived by <strong>alice</strong>" in html


def test_a_waiver_for_an_unknown_item_names_its_line(tmp_path: Path) -> None:
    path = _checklist(tmp_path, WAIVE.replace("item: timeouts_set", "item: timeout_set"))
    line = path.read_text().splitlines().index("  - {item: timeout_set, reason: \"LLM timeout lands in "
                                               "2.1 with the new client\", by: alice}") + 1
    with pytest.raises(ConfigError, match=f"checklist.yaml:{line}: field 'waive\\[0\\].item': waives unknown "
                                          "item 'timeout_set'"):
        load_checklist(path)


def test_a_waiver_needs_who_and_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="waive\\[0\\].by"):
        load_checklist(_checklist(tmp_path, "\nwaive:\n  - {item: timeouts_set, reason: later}\n"))
