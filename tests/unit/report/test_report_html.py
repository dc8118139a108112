"""report.html from the stored run folder: verdict, identity, every item, every chart with its points."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from report_pages import copy_fixture, parse

from harness.errors import ReportError
from harness.report import render_run
from harness.report.fmt import fmt_value
from harness.schemas import RunInfo, SeriesSet, Timeline, Verdict

STANDARD_CHARTS = ("latency", "throughput", "memory", "llm", "resilience", "spectrum")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = copy_fixture(tmp_path_factory.mktemp("report"))
    return run, render_run(run).read_text(encoding="utf-8")


def test_top_shows_verdict_reason_failed_blockers_and_identity(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    page = parse(html)
    verdict, info = Verdict.load_file(run), RunInfo.load_file(run)
    assert not page.find_all(id="problems"), "the stored fixture no longer matches the schemas: regenerate it"
    banner = page.find_all("section", id="verdict")[0]
    assert banner.find_all(cls="outcome")[0].text == verdict.outcome.value == "NO-GO"
    assert "no-go" in banner.attrs["class"].split()
    assert verdict.reason in banner.text
    lines = [li.text for li in banner.find_all("li")]
    assert len(lines) == len(verdict.failed_blockers) == 2  # the failed blocker and the no-data one
    for item in verdict.failed_blockers:
        line = next(t for t in lines if f"({item.id})" in t)
        assert fmt_value(item.value, item.unit) in line and item.status.value in line
    identity = page.find_all("dl", id="identity")[0].text
    for expected in (info.run_id, info.profile, info.target_url, info.git_commit, info.checklist_sha256[:12],
                     "2025-11-24 16:00:00 UTC", "2 cores", "8 GiB", "locust 2.47", verdict.baseline_run):
        assert expected in identity


def test_every_item_has_a_row_with_status_value_threshold_and_evidence(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    page = parse(html)
    verdict = Verdict.load_file(run)
    rows = {r.attrs["data-item"]: r for r in page.find_all("tr") if "data-item" in r.attrs}
    assert set(rows) == {i.id for i in verdict.items}
    for item in verdict.items:
        row = rows[item.id]
        assert row.find_all("span", cls="pill")[0].text == item.status.value
        assert item.title in row.text and item.reason in row.text
        if item.threshold:
            assert item.threshold in row.text
        if item.samples is not None:
            assert str(item.samples) in row.text
        if item.query:  # the exact query, as text, plus links that re-run it at the item's window
            assert row.find_all("code")[-1].text == " ".join(item.query.split())
            links = {a.text: a.attrs["href"] for a in row.find_all("a")}
            table = parse_qs(urlparse(links["Prometheus table"]).query)
            assert links["Prometheus table"].startswith(verdict.prometheus_url + "/graph?")
            assert table["g0.expr"] == [item.query] and table["g0.tab"] == ["1"]
            if item.window:
                assert "g0.moment_input" in table
                graph = parse_qs(urlparse(links["Prometheus graph"]).query)
                assert graph["g0.range_input"][0].endswith("s") and "g0.end_input" in graph
    attested, failed = rows["oncall_notified"].text, rows["timeouts_set"].text
    assert "j.doe" in attested and "rollback steps checked" in attested
    assert "+19.6 % regression Mann-Whitney U p=0.001" in failed and "3.61 s" in failed
    # Worst first: the failed blocker leads the table, then the no-data one.
    assert list(rows)[:2] == ["timeouts_set", "pii_masked"]


def test_every_scenario_has_every_chart_drawn_from_its_points(rendered: tuple[Path, str]) -> None:
    run, html = rendered
    page = parse(html)
    timeline, series = Timeline.load_file(run), SeriesSet.load_file(run)
    sections = {s.attrs["data-scenario"]: s for s in page.find_all("section", cls="scenario")}
    assert list(sections) == [s.name for s in timeline.scenarios]
    for name, section in sections.items():
        figures = {f.attrs["data-chart"]: f for f in section.find_all("figure", cls="chart")}
        assert set(STANDARD_CHARTS) <= set(figures), f"{name} lacks charts: {set(figures)}"
        for key in STANDARD_CHARTS:
            paths = figures[key].find_all("path", cls="series")
            drawn = sum(int(p.attrs["data-points"]) for p in paths)
            assert drawn > 10 and drawn == int(figures[key].attrs["data-points"]), (name, key)
            assert all(p.attrs["d"].count("L") + p.attrs["d"].count("H") >= 1 for p in paths), (name, key)
        # The server and client latency lines share one chart; every kept series is drawn somewhere.
        labels = {p.attrs["data-label"] for f in figures.values() for p in f.find_all("path", cls="series")}
        assert {s.name for s in series.for_scenario(name)} <= labels
        assert {"client_p99", "server_p99"} <= {p.attrs["data-label"]
                                                for p in figures["latency"].find_all("path", cls="series")}
        bands = figures["latency"].find_all("rect", cls="band")
        assert len(bands) == len(timeline.scenario(name).phases)
    faults = sections["llm_slowdown"].find_all("rect", cls="fault")
    assert len(faults) >= 5  # the fault window is shaded distinctly on every time chart
    assert not sections["target_2x"].find_all("rect", cls="fault")
    memory = {f.attrs["data-chart"]: f for f in sections["target_2x"].find_all("figure")}["memory"]
    trend = [p for p in memory.find_all("path") if p.attrs["data-label"] == "trend (memory_stable)"]
    assert len(trend) == 1 and trend[0].attrs["data-points"] == "2"
    assert "Fitted trend: +" in memory.text


def test_baseline_column_only_when_a_baseline_was_given(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    assert "Baseline" in [th.text for th in parse(render_run(run).read_text()).find_all("th")]
    verdict = json.loads((run / "verdict.json").read_text())
    for item in verdict["items"]:
        item["baseline"] = None
    verdict["baseline_run"] = None
    (run / "verdict.json").write_text(json.dumps(verdict))
    page = parse(render_run(run).read_text())
    assert "Baseline" not in [th.text for th in page.find_all("th")]
    assert {len(r.find_all("td")) for r in page.find_all("tr") if "data-item" in r.attrs} == {7}


def test_manual_item_without_attestation_says_so(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    verdict = json.loads((run / "verdict.json").read_text())
    manual = next(i for i in verdict["items"] if i["kind"] == "manual")
    manual["attestation"], manual["status"] = None, "no-data"
    (run / "verdict.json").write_text(json.dumps(verdict))
    page = parse(render_run(run).read_text(encoding="utf-8"))
    row = next(r for r in page.find_all("tr") if r.attrs.get("data-item") == manual["id"])
    assert "No attestation given" in row.text and "Attested by" not in row.text


def test_item_text_with_script_shows_as_text(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    evil = "<script>alert('x')</script>"
    verdict = json.loads((run / "verdict.json").read_text())
    for item in verdict["items"]:
        item["title"] = evil + item["title"]
        item["reason"] = evil
        if item.get("query"):
            item["query"] = evil
        if item.get("attestation"):
            item["attestation"]["note"] = evil
    verdict["reason"] = evil
    (run / "verdict.json").write_text(json.dumps(verdict))
    series = json.loads((run / "series.json").read_text())
    series["series"][0]["name"] = evil
    (run / "series.json").write_text(json.dumps(series))
    run_info = json.loads((run / "run.json").read_text())
    run_info["target_url"] = evil
    (run / "run.json").write_text(json.dumps(run_info))

    html = render_run(run).read_text(encoding="utf-8")
    page = parse(html)
    assert len(page.find_all("script")) == 1  # only the report's own copy-button script
    assert "alert" not in page.find_all("script")[0].text
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") >= 2 * len(verdict["items"])
    assert evil in page.find_all(cls="reason")[0].text  # shown, as text


def test_missing_documents_show_no_data_instead_of_failing(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    for name in ("verdict.json", "series.json"):
        (run / name).unlink()
    (run / "timeline.json").write_text("{not json")
    page = parse(render_run(run).read_text(encoding="utf-8"))
    assert page.find_all(cls="outcome")[0].text == "NOT GRADED"
    problems = page.find_all(id="problems")[0].text
    assert "verdict.json is missing" in problems and "series.json is missing" in problems
    assert "timeline.json" in problems and "not a valid Timeline" in problems
    # Scenarios still come from the client statistics; their time charts say "no data", the spectrum draws.
    figures = page.find_all("figure", cls="chart")
    empty = [f.attrs["data-chart"] for f in figures if f.find_all(cls="empty")]
    assert set(empty) == {"latency", "throughput", "memory", "llm", "resilience"}
    assert all("no data" in f.text for f in figures if f.find_all(cls="empty"))
    spectra = [f for f in figures if f.attrs["data-chart"] == "spectrum"]
    assert len(spectra) == 3 and all(f.attrs["data-points"] != "0" for f in spectra)


def test_an_empty_folder_renders_and_a_missing_one_is_a_report_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    page = parse(render_run(tmp_path / "empty").read_text(encoding="utf-8"))
    assert page.find_all(cls="outcome")[0].text == "NOT GRADED"
    assert "no data (no scenario ran)" in page.text and "run.json is missing" in page.text
    with pytest.raises(ReportError, match="no run folder"):
        render_run(tmp_path / "nope")


def test_degenerate_values_render_as_no_data(tmp_path: Path) -> None:
    """A crashed scenario, a lone point, NaN values, an open phase: the page renders, says what it lacks."""
    run = copy_fixture(tmp_path)
    timeline = json.loads((run / "timeline.json").read_text())
    timeline["scenarios"][0].update(status="failed", reason="target crashed", end=None)
    timeline["scenarios"][0]["phases"][-1]["end"] = None
    (run / "timeline.json").write_text(json.dumps(timeline))
    name = timeline["scenarios"][0]["name"]
    series = json.loads((run / "series.json").read_text())
    for s in series["series"]:
        if s["scenario"] == name:
            s["points"] = s["points"][:1] if s["name"] == "rps" else [[p[0], "NaN"] for p in s["points"]]
    (run / "series.json").write_text(json.dumps(series).replace('"NaN"', "NaN"))
    verdict = json.loads((run / "verdict.json").read_text())
    verdict["items"][0].update(status="no-data", value=None, bound=None, interval=None, samples=None,
                               window=None)
    (run / "verdict.json").write_text(json.dumps(verdict))

    page = parse(render_run(run).read_text(encoding="utf-8"))
    section = page.find_all("section", data_scenario=name)[0]
    assert "failed" in section.find_all("h2")[0].text and "target crashed" in section.text
    figures = {f.attrs["data-chart"]: f for f in section.find_all("figure")}
    assert figures["throughput"].attrs["data-points"] == "1" and figures["throughput"].find_all("circle")
    assert figures["latency"].find_all(cls="empty") and "no data" in figures["latency"].text
    row = next(r for r in page.find_all("tr") if r.attrs.get("data-item") == verdict["items"][0]["id"])
    assert "no data" in row.text


def test_an_item_graded_on_untrusted_data_says_why(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    verdict = json.loads((run / "verdict.json").read_text())
    verdict["items"][2]["evidence"]["untrusted"] = ["3 missed scrapes of job agent", "generator saturated"]
    (run / "verdict.json").write_text(json.dumps(verdict))
    page = parse(render_run(run).read_text(encoding="utf-8"))
    rows = {r.attrs["data-item"]: r for r in page.find_all("tr") if "data-item" in r.attrs}
    flagged = [i for i, r in rows.items() if r.find_all(cls="untrusted")]
    assert flagged == [verdict["items"][2]["id"]]
    assert "3 missed scrapes of job agent; generator saturated" in rows[flagged[0]].text


def test_a_scenario_that_never_ran_shows_its_failure_once_not_empty_charts(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    timeline = json.loads((run / "timeline.json").read_text())
    name = timeline["scenarios"][0]["name"]
    timeline["scenarios"][0].update(status="failed", phases=[],
                                    reason="the Locust master ended without results; log:\n  Traceback ...")
    (run / "timeline.json").write_text(json.dumps(timeline))
    series = json.loads((run / "series.json").read_text())
    series["series"] = [s for s in series["series"] if s["scenario"] != name]
    (run / "series.json").write_text(json.dumps(series))
    shutil.rmtree(run / "client" / name)

    section = parse(render_run(run).read_text(encoding="utf-8")).find_all("section", data_scenario=name)[0]
    assert section.find_all("pre", cls="log")[0].text.startswith("the Locust master ended without results")
    assert not section.find_all("figure") and "no data (no chart series for this scenario)" in section.text


def test_identity_shows_the_service_profile_and_where_it_came_from(tmp_path: Path) -> None:
    from harness.schemas.service import ServiceProfile, expand_service

    run = copy_fixture(tmp_path)
    info = RunInfo.load_file(run)
    info.service = ServiceProfile.model_validate(expand_service({
        "preset": "seed-article", "name": "faq bot",
        "metrics": {"requests": {"selector": 'endpoint="answer"'}}}))
    info.service_source = "detected: seed-article from metrics http://127.0.0.1:9090/metrics"
    info.save_file(run / "run.json")
    page = parse(render_run(run).read_text(encoding="utf-8"))
    identity = page.find_all(id="identity")[0]
    service = next(div for div in identity.find_all("div") if div.find_all("dt")[0].text == "Service")
    text = " ".join(service.find_all("dd")[0].text.split())
    assert "preset seed-article (faq bot), detected: seed-article from metrics" in text
    assert 'requests: agent_requests_total{endpoint="answer"} errors status="error"' in text
    assert "request_duration: agent_request_duration_seconds" in text and "breaker" not in text


def test_each_phase_shows_served_shed_and_errors(tmp_path: Path) -> None:
    run = copy_fixture(tmp_path)
    stats_path = run / "client" / "target_2x" / "stats.json"
    stats = json.loads(stats_path.read_text())
    steady = next(p for p in stats["phases"] if p["phase"] == "steady")
    steady.update(served=4000, shed=1000, failures=7)
    stats_path.write_text(json.dumps(stats))
    page = parse(render_run(run).read_text())
    cells = [td for td in page.find_all("td") if "data-outcomes" in td.attrs]
    assert "4000/1000/7" in [td.attrs["data-outcomes"] for td in cells]
    assert "4000 / 1000 / 7" in [" ".join(td.text.split()) for td in cells]
    assert "Served / shed / errors" in [th.text for th in page.find_all("th")]
