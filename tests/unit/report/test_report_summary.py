"""The terminal summary mirrors the top of the report: verdict, what did not pass, where the report is."""

from __future__ import annotations

import json
from pathlib import Path

from report_pages import copy_fixture

from harness.report import terminal_summary
from harness.schemas import RunFolder, Verdict


def test_summary_lists_verdict_items_not_passing_and_report_path(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    verdict = Verdict.load_file(run)
    text = terminal_summary(RunFolder(run))  # the CLI hands over a RunFolder; a path works the same
    assert text == terminal_summary(run)
    lines = text.splitlines()
    assert lines[0].startswith("NO-GO") and verdict.run_id in lines[0] and "profile quick" in lines[0]
    assert verdict.reason[:60] in lines[1]
    not_passing = [i for i in verdict.items if i.status.value != "pass"]
    item_lines = [ln for ln in lines if ln.lstrip().startswith(("FAIL", "WARN", "NO-DATA"))]
    assert [ln.split()[2].rstrip(":") for ln in item_lines] == ["timeouts_set", "pii_masked", "llm_latency"]
    assert len(item_lines) == len(not_passing)
    assert "8.22 s vs < 4 s" in item_lines[0] and item_lines[0].split()[:2] == ["FAIL", "blocker"]
    assert f"{len(verdict.items)} items: 16 pass, 1 warn, 1 fail, 1 no-data" in text
    assert lines[-1] == f"  report: {run / 'report.html'}"


def test_summary_is_one_line_per_item_whatever_the_item_text(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    verdict = json.loads((run / "verdict.json").read_text())
    verdict["items"][0]["status"] = "fail"
    verdict["items"][0]["reason"] = "line one\nline two " + "x" * 300
    (run / "verdict.json").write_text(json.dumps(verdict))
    lines = terminal_summary(run).splitlines()
    line = next(ln for ln in lines if verdict["items"][0]["id"] in ln)
    assert "line one line two" in line and line.endswith("…") and len(line) < 240


def test_summary_of_an_ungraded_run_says_so(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    (run / "verdict.json").unlink()
    text = terminal_summary(run)
    assert text.startswith("NOT GRADED") and "verdict.json is missing" in text


def test_a_not_applicable_item_keeps_a_space_before_its_severity(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    verdict = json.loads((run / "verdict.json").read_text())
    verdict["items"][0]["status"] = "not-applicable"
    (run / "verdict.json").write_text(json.dumps(verdict))
    line = next(ln for ln in terminal_summary(run).splitlines() if f" {verdict['items'][0]['id']}:" in ln)
    assert line.split()[:2] == ["NOT-APPLICABLE", verdict["items"][0]["severity"]]
