"""A capacity run's report.html from the stored capacity run folder: no verdict, the answer first,
the four charts, every step with capacity.json's own numbers, what-ifs side by side; and its CSV."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from report_pages import parse

from harness.report import render_index, render_run, terminal_summary
from harness.report.capacity import headline
from harness.report.fmt import fmt_value
from harness.schemas import RunInfo, RunKind
from harness.schemas.capacity import CapacityResult

FIXTURES = Path(__file__).parents[2] / "fixtures"
CAPACITY_RUN = FIXTURES / "capacity_run"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = shutil.copytree(CAPACITY_RUN, tmp_path_factory.mktemp("capacity") / "run")
    return run, render_run(run).read_text(encoding="utf-8")


def test_run_json_says_the_kind_and_older_capacity_runs_read_as_capacity(tmp_path: Path) -> None:
    assert RunInfo.load_file(CAPACITY_RUN).kind == RunKind.capacity
    older = json.loads((CAPACITY_RUN / "run.json").read_text())
    del older["kind"]
    (tmp_path / "run.json").write_text(json.dumps(older))
    assert RunInfo.load_file(tmp_path).kind == RunKind.capacity  # written before `kind`: by its command
    older["command"] = "gate"
    (tmp_path / "run.json").write_text(json.dumps(older))
    assert RunInfo.load_file(tmp_path).kind == RunKind.gate


def test_no_verdict_banner_no_incomplete_box_and_the_answer_first(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    page = parse(html)
    result = CapacityResult.load_file(run)
    assert "NOT GRADED" not in html and not page.find_all(id="problems") and not page.find_all(id="verdict")
    head = page.find_all("section", id="headline")[0].text
    best = next(s for s in result.searches if s.name == result.recommendation.per_replica_source)
    holds = fmt_value(best.max_sustainable_rps, "req/s")
    assert f"One replica ({best.name}) holds {holds} at the SLO" in head
    assert "confirmed for 1m00s" in head  # the confirmation step held 60 s
    br = best.breaking
    assert f"breaks near {fmt_value(br.estimate_rps, 'req/s')}" in head
    assert f"95%: {fmt_value(br.interval_rps[0])}–{fmt_value(br.interval_rps[1], 'req/s')}" in head
    plans = best.plans
    assert [p.peak_qps for p in plans] == [50, 100, 200]
    assert f"{plans[0].replicas}, {plans[1].replicas} and {plans[2].replicas} replica(s)" in head
    assert "at headroom 2x" in head and "USD per replica-month" in head


def test_what_if_with_a_slower_llm_states_the_capacity_drop(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    result = CapacityResult.load_file(run)
    slow = next(w for w in result.what_if if w.llm_extra_latency_s == 0.5)
    assert slow.change is not None and slow.change < -0.2
    line = parse(html).find_all("li", data_search=slow.search)[0].text
    assert f"LLM +0.5 s: one replica holds {fmt_value(slow.max_sustainable_rps, 'req/s')}" in line
    assert f"({slow.change * 100:+.1f} %)" in line
    assert ("a real change" if slow.beyond_rerun_interval else "no more than a rerun moves") in line
    row = parse(html).find_all("table", cls="searches")[0].find_all("tr", data_search=slow.search)[0]
    assert f"{slow.change * 100:+.1f} %" in row.text and "LLM +0.5 s" in row.text


def test_four_charts_and_a_latency_chart_per_search_with_points(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    result = CapacityResult.load_file(run)
    figures = {f.attrs["data-chart"]: f for f in parse(html).find_all("figure")}
    assert {"throughput", "breaking", "usl", "p99-overlay"} <= set(figures)
    latency = [k for k in figures if k.startswith("latency-")]
    assert len(latency) == len(result.searches)
    for key, figure in figures.items():
        assert int(figure.attrs["data-points"]) > 0, key
        assert figure.find_all("svg"), key
    throughput = figures["throughput"]
    labels = [p.attrs["data-label"] for p in throughput.find_all("path", cls="series")]
    assert "y = x" in labels and all(s.name in labels for s in result.searches)
    assert any("knee" in t.text for t in throughput.find_all("text"))
    first = figures["latency-0"]
    steps = [s for s in result.steps if s.search == result.searches[0].name]
    assert len(first.find_all("g", cls="mark")) == len(steps)  # pass/fail marked on every step's P99
    assert len(first.find_all("g", cls="mark-cross")) == sum(s.outcome.value == "fail" for s in steps)
    assert "SLO P99 3 s" in first.text
    assert figures["breaking"].find_all("rect", cls="interval")  # the posterior as a band


def test_step_table_numbers_equal_capacity_json(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    steps = json.loads((run / "capacity.json").read_text())["steps"]
    rows = parse(html).find_all("table", cls="steps")[0].find_all("tr")[1:]
    assert len(rows) == len(steps)
    by_key = {(s["search"], s["index"]): s for s in steps}
    for row in rows:
        step = by_key[(row.attrs["data-search"], int(row.attrs["data-index"]))]
        cells = {td.attrs["data-key"]: td for td in row.find_all("td")}
        for key in ("rate_rps", "duration_s", "achieved_rps", "p50_s", "p95_s", "p99_s", "errors",
                    "error_rate", "drain_wait_s"):
            assert float(cells[key].attrs["data-value"]) == step[key], key
        assert cells["outcome"].text == step["outcome"]
        assert cells["rate_rps"].text == fmt_value(step["rate_rps"], "req/s")
        assert cells["p99_s"].text == fmt_value(step["p99_s"], "s")
        assert cells["errors"].text == f"{step['errors']} / {step['requests']}"


def test_assumptions_as_a_list_and_method_notes_folded(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    result = CapacityResult.load_file(run)
    page = parse(html)
    items = [li.text for li in page.find_all("ul", cls="assumptions")[0].find_all("li")]
    assert items == result.recommendation.assumptions
    notes = page.find_all("details", cls="method")[0]
    assert "open" not in notes.attrs and len(notes.find_all("li")) >= len(result.notes)


def test_csv_summaries_hold_every_step_and_search(rendered: tuple[Path, str]) -> None:
    run, _ = rendered
    result = CapacityResult.load_file(run)
    with open(run / "capacity_steps.csv", newline="") as f:
        steps = list(csv.DictReader(f))
    assert [(r["search"], float(r["rate_rps"]), r["outcome"]) for r in steps] == \
        [(s.search, s.rate_rps, s.outcome.value) for s in result.steps]
    with open(run / "capacity_answer.csv", newline="") as f:
        answer = list(csv.DictReader(f))
    assert [r["search"] for r in answer] == [s.name for s in result.searches]
    assert [int(r["replicas_at_100_rps"]) for r in answer] == [s.plans[1].replicas for s in result.searches]
    markdown = (run / "capacity.md").read_text()
    assert "| workers=1 llm+0.5s | LLM +0.5 s |" in markdown


def test_index_lists_a_capacity_run_as_a_capacity_run(rendered: tuple[Path, str]) -> None:
    run, _ = rendered
    result = CapacityResult.load_file(run)
    page = parse(render_index(run.parent).read_text())
    row = page.find_all("tr", data_run=RunInfo.load_file(run).run_id)[0]
    assert row.attrs["data-kind"] == "capacity"
    assert row.find_all(cls="pill")[0].text == "CAPACITY"
    assert f"holds {fmt_value(result.max_sustainable_rps, 'req/s')}" in row.text


def test_a_capacity_run_without_capacity_json_says_so(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(CAPACITY_RUN / "run.json", run / "run.json")
    page = parse(render_run(run).read_text())
    head = page.find_all("section", id="headline")[0].text
    assert "capacity.json is missing" in head and "NOT GRADED" not in head


def test_a_run_whose_budget_ran_out_before_any_step_says_why(tmp_path: Path) -> None:
    run = shutil.copytree(CAPACITY_RUN, tmp_path / "run")
    result = CapacityResult.load_file(run)
    ran_out = "time budget ran out before measuring 0.2 req/s"
    searches = [s.model_copy(update={"max_sustainable_rps": None, "bracket_rps": (None, None),
                                     "breaking": None, "plans": [], "notes": [ran_out]})
                for s in result.searches]
    result.model_copy(update={"steps": [], "searches": searches, "recommendation": None, "what_if": [],
                              "max_sustainable_rps": None, "breaking": None}).save_file(run)
    head = parse(render_run(run).read_text()).find_all("section", id="headline")[0].text
    assert f"No step was measured, so there is no answer: {ran_out}" in head


def test_a_capacity_json_from_before_replica_plans_still_states_the_recommendation(tmp_path: Path) -> None:
    run = shutil.copytree(CAPACITY_RUN, tmp_path / "run")
    raw = json.loads((run / "capacity.json").read_text())
    for search in raw["searches"]:
        del search["plans"], search["fresh_share"]
    for key in ("peaks_qps", "headroom", "cost_per_replica", "cost_unit"):
        del raw[key]
    del raw["recommendation"]["plans"]
    (run / "capacity.json").write_text(json.dumps(raw))
    rec = raw["recommendation"]
    head = parse(render_run(run).read_text()).find_all("section", id="headline")[0].text
    peak = fmt_value(rec["peak_qps"], "req/s")
    assert f"{rec['replicas']} replica(s) for peak {peak} at headroom 2x" in head


def test_terminal_summary_of_a_capacity_run_is_its_answer(rendered: tuple[Path, str]) -> None:
    run, _ = rendered
    text = terminal_summary(run)
    assert text.startswith("CAPACITY  run 20251124-170000-capacity-run") and "NOT GRADED" not in text
    for line in headline(CapacityResult.load_file(run)):
        assert f"  {line}" in text
    assert "what if LLM +0.5 s: one replica holds" in text and str(run / "report.html") in text
