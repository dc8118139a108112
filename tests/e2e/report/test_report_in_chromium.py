"""A rendered report in headless Chromium, network cut: it must draw, fetch nothing, log no error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.report import render_run

FIXTURE = Path(__file__).parents[2] / "fixtures" / "run_folder"

# For every chart: rasterise its SVG on a canvas and count strongly coloured pixels (the series lines;
# grid, bands and text are grey or pale), and measure the drawn length of its paths.
CHART_PIXELS = """
(async () => {
  const out = [];
  for (const fig of document.querySelectorAll("figure.chart")) {
    const svg = fig.querySelector("svg");
    const row = {key: fig.dataset.chart, scenario: fig.closest("[data-scenario]")?.dataset.scenario,
                 points: Number(fig.dataset.points), svg: !!svg, colored: 0, length: 0};
    out.push(row);
    if (!svg) continue;
    const box = svg.getBoundingClientRect();
    row.width = box.width; row.height = box.height;
    for (const path of svg.querySelectorAll("path.series")) row.length += path.getTotalLength();
    const img = new Image();
    await new Promise((ok, bad) => { img.onload = ok; img.onerror = bad;
      const xml = new XMLSerializer().serializeToString(svg);
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(xml); });
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(box.width); canvas.height = Math.round(box.height);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) {
      const hi = Math.max(px[i], px[i + 1], px[i + 2]), lo = Math.min(px[i], px[i + 1], px[i + 2]);
      if (px[i + 3] > 0 && hi - lo > 60) row.colored++;
    }
  }
  return out;
})()
"""


@pytest.mark.e2e
@pytest.mark.integration
def test_report_renders_offline_with_charts_and_no_console_errors(tmp_path: Path, browser) -> None:
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    report = render_run(run)
    browser.open(report.as_uri())

    charts = browser.evaluate(CHART_PIXELS)
    drawn = [c for c in charts if c["points"] > 0]
    assert len(drawn) >= 15, f"expected charts with data for every scenario, got {charts}"
    for chart in drawn:
        assert chart["svg"] and chart["width"] > 300, chart
        assert chart["length"] > 50, f"series paths drew nothing: {chart}"
        assert chart["colored"] > 150, f"chart rendered blank: {chart}"

    outcome = browser.evaluate("document.querySelector('.outcome').textContent")
    assert outcome == "NO-GO"
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 50_000  # a full page of tables and charts, not a blank image

    assert browser.console_errors() == []
    fetched = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:"))]
    assert fetched == [], f"the report fetched from the network: {fetched}"
