"""``--compare``: two stored capacity runs side by side, each change called real or noise by the
reference's rerun interval, one colour per run, and the CSV / Markdown summaries of both."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from report_pages import parse

from harness.errors import ReportError
from harness.report import render_compare
from harness.schemas import RunInfo
from harness.schemas.capacity import CapacityResult

FIXTURES = Path(__file__).parents[2] / "fixtures"
RUN_A, RUN_B = FIXTURES / "capacity_run", FIXTURES / "capacity_run_b"


def test_compare_renders_both_runs_and_calls_each_change(tmp_path: Path) -> None:
    page_path = render_compare([RUN_A, RUN_B], tmp_path / "cmp")
    page = parse(page_path.read_text())
    ids = [RunInfo.load_file(r).run_id for r in (RUN_A, RUN_B)]
    a, b = (CapacityResult.load_file(r) for r in (RUN_A, RUN_B))
    assert [d.attrs["data-run"] for d in page.find_all("div", cls="compared-run")] == ids
    changes = {r.attrs["data-search"]: r for r in page.find_all("tr") if r.attrs.get("data-run") == ids[1]
               and "data-search" in r.attrs and r.find_all("td", cls="num")}
    assert set(changes) == {s.name for s in b.searches}
    for search in b.searches:
        ref = next(s for s in a.searches if s.name == search.name)
        low, high = ref.breaking.rerun_interval_rps
        expected = "noise" if low <= search.breaking.estimate_rps <= high else "real"
        assert changes[search.name].find_all("span", cls="pill")[0].text == expected
    # The fixture holds one of each: a rerun within the noise and a real drop.
    assert sorted(r.find_all("span", cls="pill")[0].text for r in changes.values()) == ["noise", "real"]
    figures = {f.attrs["data-chart"]: f for f in page.find_all("figure")}
    assert {"throughput", "p99-overlay", "breaking", "usl"} <= set(figures)
    for figure in figures.values():
        labels = [p.attrs["data-label"] for p in figure.find_all("path", cls="series")]
        assert any(ids[0] in label for label in labels) and any(ids[1] in label for label in labels)
    step_rows = [r for r in page.find_all("table", cls="steps")[0].find_all("tr")[1:]]
    assert len(step_rows) == len(a.steps) + len(b.steps)
    with open(tmp_path / "cmp" / "compare_steps.csv", newline="") as f:
        assert [r["run"] for r in csv.DictReader(f)] == [ids[0]] * len(a.steps) + [ids[1]] * len(b.steps)
    markdown = (tmp_path / "cmp" / "compare.md").read_text()
    assert f"## {ids[0]}" in markdown and f"## {ids[1]}" in markdown


def test_compare_refuses_one_run_or_a_folder_without_capacity_json(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="at least two"):
        render_compare([RUN_A], tmp_path / "one")
    gate = shutil.copytree(FIXTURES / "run_folder", tmp_path / "gate")
    with pytest.raises(ReportError, match="not a finished capacity run"):
        render_compare([RUN_A, gate], tmp_path / "mixed")
