"""The report explains a failed or warned item with the diagnosis's likely causes and their evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_pages import Node, copy_fixture, parse

from harness.report import render_run, terminal_summary
from harness.schemas import RunFolder, Verdict
from harness.schemas.diagnostics import Assessment, CauseAssessment, Diagnosis, Evidence, ItemDiagnosis

# py-spy frames as diagnose writes them: "<module>" and comparisons must reach the page as text.
STACK = ("time.sleep (<built-in>)\n"
         "call_llm (target_service/llm.py:88)    if delay < timeout: time.sleep(delay)\n"
         "<module> (target_service/__main__.py:5)")

SLOW_LLM = CauseAssessment(
    cause="event_loop_blocked", title="Blocking call on the event loop",
    fault_row="latency spikes -> sync call in async code -> py-spy", assessment=Assessment.supported,
    summary="4 of 5 samples caught the loop thread in time.sleep", remedy="await asyncio.sleep instead",
    evidence=[Evidence(source="py-spy", text="loop blocked in 4/5 samples", detail=STACK,
                       file="diagnostics/stacks.jsonl")])
REDIS = CauseAssessment(
    cause="redis_pool", title="Redis connection pool exhausted",
    fault_row="errors -> pool too small -> redis INFO", assessment=Assessment.ruled_out,
    summary="connected_clients stayed at 3 of 10000",
    evidence=[Evidence(source="redis INFO", text="no rejected connections")])
GPU = CauseAssessment(
    cause="gpu_oom", title="GPU memory exhausted", fault_row="memory -> OOM -> torch.cuda",
    assessment=Assessment.inconclusive, summary="no GPU on this machine")


def _diagnose(run: Path) -> Diagnosis:
    verdict = Verdict.load_file(run)
    diagnosis = Diagnosis(run_id=verdict.run_id, generated_at=verdict.graded_at, items=[
        ItemDiagnosis(item_id="timeouts_set", title="Timeouts", status="fail", symptom="latency",
                      causes=[SLOW_LLM, REDIS]),
        ItemDiagnosis(item_id="llm_latency", title="LLM latency", status="warn", symptom="latency",
                      causes=[GPU]),
    ])
    diagnosis.save_file(RunFolder(run).diagnosis)
    return diagnosis


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = copy_fixture(tmp_path_factory.mktemp("diagnosed"))
    _diagnose(run)
    return run, render_run(run).read_text(encoding="utf-8")


def _row(page: Node, item_id: str) -> Node:
    return page.find_all("tr", data_item=item_id)[0]


def test_failed_item_lists_causes_with_assessment_summary_remedy_and_evidence(
        diagnosed: tuple[Path, str]) -> None:
    _, html = diagnosed
    page = parse(html)
    assert not page.find_all(id="problems")
    causes = {li.attrs["data-cause"]: li for li in _row(page, "timeouts_set").find_all("li", cls="cause")}
    assert list(causes) == ["event_loop_blocked", "redis_pool"]  # the diagnosis's order: supported first
    for cause in (SLOW_LLM, REDIS):
        li = causes[cause.cause]
        assert li.find_all("span", cls="pill")[0].text == cause.assessment.value
        assert cause.title in li.text and cause.summary in li.text and cause.fault_row in li.text
        for evidence in cause.evidence:
            assert evidence.source in li.text and evidence.text in li.text
    assert "await asyncio.sleep instead" in causes["event_loop_blocked"].find_all(cls="remedy")[0].text
    assert not causes["redis_pool"].find_all(cls="remedy")  # no remedy given, none shown
    pre = causes["event_loop_blocked"].find_all("pre")[0]
    assert "<module> (target_service/__main__.py:5)" in pre.text and "if delay < timeout" in pre.text
    assert "&lt;module&gt;" in html and "<module>" not in html  # escaped, not parsed as a tag


def test_warned_item_shows_its_causes_and_passed_items_none(diagnosed: tuple[Path, str]) -> None:
    run, html = diagnosed
    page = parse(html)
    warned = _row(page, "llm_latency").find_all("li", cls="cause")
    assert [li.find_all("span", cls="pill")[0].text for li in warned] == ["inconclusive"]
    assert GPU.summary in warned[0].text
    passed = [i.id for i in Verdict.load_file(run).items if i.status.value == "pass"]
    assert passed and not any(_row(page, item_id).find_all(cls="causes") for item_id in passed)


def test_banner_and_terminal_summary_name_the_supported_cause(diagnosed: tuple[Path, str]) -> None:
    run, html = diagnosed
    banner = parse(html).find_all("section", id="verdict")[0]
    line = next(li for li in banner.find_all("li") if "(timeouts_set)" in li.text)
    assert f"Likely cause: {SLOW_LLM.title}" in line.text
    lines = terminal_summary(run).splitlines()
    item_line = {ln.split()[2].rstrip(":"): n for n, ln in enumerate(lines)
                 if ln.startswith(("  FAIL", "  WARN"))}
    at = item_line["timeouts_set"]
    assert lines[at + 1].strip().startswith(f"likely cause: {SLOW_LLM.title} — {SLOW_LLM.summary}")
    # Only a supported cause is named: llm_latency's is inconclusive.
    assert "likely cause" not in lines[item_line["llm_latency"] + 1]


@pytest.mark.parametrize("damage", ["corrupt", "other run"])
def test_unusable_diagnosis_still_renders_without_causes(tmp_path: Path, damage: str) -> None:
    run = copy_fixture(tmp_path)
    path = RunFolder(run).diagnosis
    if damage == "corrupt":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"run_id": "20251124-160000-quick", "items": [{"item_id"', encoding="utf-8")
    else:
        _diagnose(run).model_copy(update={"run_id": "someone-else"}).save_file(path)
    page = parse(render_run(run).read_text(encoding="utf-8"))
    assert not page.find_all(cls="causes") and "Likely cause" not in page.text
    assert "diagnosis.json" in page.find_all(id="problems")[0].text
    assert "likely cause" not in terminal_summary(run)
