"""reports/index.html: every run folder, newest first, with its headline numbers and a trend chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_pages import FIXTURE, parse

from harness.errors import ReportError
from harness.report import render_index, render_run
from harness.schemas import RunInfo, ScenarioStats


def _run_copy(reports: Path, run_id: str, started: float, outcome: str) -> Path:
    run = shutil.copytree(FIXTURE, reports / run_id)
    info = json.loads((run / "run.json").read_text())
    info.update(run_id=run_id, started=started)
    (run / "run.json").write_text(json.dumps(info))
    verdict = json.loads((run / "verdict.json").read_text())
    verdict.update(run_id=run_id, outcome=outcome)
    (run / "verdict.json").write_text(json.dumps(verdict))
    return run


def test_index_lists_runs_newest_first_with_headline_numbers(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    old = _run_copy(reports, "run-b-old", 1763000000.0, "GO")
    new = _run_copy(reports, "run-a-new", 1764000000.0, "NO-GO")
    render_run(new)  # only one of them has a report yet
    (reports / "not-a-run").mkdir()

    page = parse(render_index(reports).read_text(encoding="utf-8"))
    rows = [r for r in page.find_all("tr") if "data-run" in r.attrs]
    assert [r.attrs["data-run"] for r in rows] == ["run-a-new", "run-b-old"]
    assert [r.find_all(cls="pill")[0].text for r in rows] == ["NO-GO", "GO"]
    assert rows[0].find_all("a")[0].attrs["href"] == "run-a-new/report.html"
    assert not rows[1].find_all("a") and "no report.html" in rows[1].text
    assert "timeouts_set" in rows[0].text and "2025-11-24 16:00:00 UTC" in rows[0].text

    # P99: the worst client P99 of the non-warm-up, non-fault phases; peak memory from the RSS series.
    stats = [ScenarioStats.load_file(p) for p in sorted((old / "client").glob("*/stats.json"))]
    p99 = max(p.latency.p99 for s in stats for p in s.phases if p.phase not in ("warmup", "fault"))
    cells = [c.text for c in rows[1].find_all("td")]
    assert f"{p99:.3g}" in cells[4].replace(" s", "")
    assert cells[5].endswith("%") and cells[6].endswith("MiB")
    assert RunInfo.load_file(old).profile == cells[2]

    trend = page.find_all("figure", data_chart="trend")[0]
    assert [p.attrs["data-points"] for p in trend.find_all("path", cls="series")] == ["2", "2"]


def test_index_of_an_empty_folder_says_no_data_and_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    page = parse(render_index(tmp_path).read_text(encoding="utf-8"))
    assert "no data (no run folders yet)" in page.text
    assert page.find_all("figure", data_chart="trend")[0].find_all(cls="empty")
    with pytest.raises(ReportError):
        render_index(tmp_path / "missing")


def test_a_run_folder_with_a_non_utf8_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    _run_copy(reports, "run-good", 1764000000.0, "GO")
    bad = _run_copy(reports, "run-bad", 1764000100.0, "NO-GO")
    (bad / "verdict.json").write_bytes(b'{"run_id": "\xff\xfe broken"}')

    page = parse(render_index(reports).read_text(encoding="utf-8"))
    rows = [r.attrs["data-run"] for r in page.find_all("tr") if "data-run" in r.attrs]
    assert rows == ["run-good"]
    notes = [li.text for li in page.find_all("ul", cls="skipped")[0].find_all("li")]
    assert len(notes) == 1 and notes[0].startswith("run-bad: skipped") and "not UTF-8" in notes[0]
