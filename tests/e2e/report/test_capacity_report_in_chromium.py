"""A capacity run's report in headless Chromium, network cut: the answer, the charts drawn, no verdict
banner, no incomplete-folder box, nothing fetched, no console error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_report_in_chromium import CHART_PIXELS

from harness.report import render_run

FIXTURE = Path(__file__).parents[2] / "fixtures" / "capacity_run"


@pytest.mark.e2e
@pytest.mark.integration
def test_capacity_report_renders_offline_with_charts_and_no_console_errors(tmp_path: Path, browser) -> None:
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    browser.open(render_run(run).as_uri())

    charts = {c["key"]: c for c in browser.evaluate(CHART_PIXELS)}
    expected = {"throughput", "breaking", "usl", "p99-overlay", "latency-0", "latency-1", "latency-2"}
    assert expected <= set(charts)
    for key, chart in charts.items():
        assert chart["svg"] and chart["width"] > 300, chart
        assert chart["length"] > 50, f"{key}: series paths drew nothing: {chart}"
        assert chart["colored"] > 150, f"{key}: chart rendered blank: {chart}"

    headline = browser.evaluate("document.querySelector('#headline').innerText")
    assert "One replica (workers=2) holds 28.4 req/s at the SLO" in headline
    assert browser.evaluate("document.querySelectorAll('#verdict, #problems, .banner').length") == 0
    assert "NOT GRADED" not in browser.evaluate("document.body.innerText")
    rows = browser.evaluate("document.querySelectorAll('table.steps tbody tr').length")
    assert rows == 19  # every step of the three searches
    # Method notes are folded away until opened.
    assert browser.evaluate("document.querySelector('details.method').open") is False
    shot = browser.screenshot(tmp_path / "capacity.png")
    assert shot.stat().st_size > 50_000

    assert browser.console_errors() == []
    fetched = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:"))]
    assert fetched == [], f"the report fetched from the network: {fetched}"
