"""Chart building blocks: axes, cleaning, gaps, escaping, the memory trend read from evidence."""

from __future__ import annotations

import math

import pytest
from report_pages import parse

from harness.report.charts import memory_trend, phase_bands
from harness.report.scales import nice_step
from harness.report.svg import Band, Chart, Line, clean_points, percentile_x, render_svg, thin
from harness.schemas import ItemResult, Phase, ScenarioRun, ScenarioStatus, Window


def test_percentile_axis_spaces_each_nine_evenly() -> None:
    assert percentile_x(0) == 0
    assert [round(percentile_x(p), 6) for p in (90, 99, 99.9)] == [1, 2, 3]
    assert math.isfinite(percentile_x(100))  # the maximum is clipped, not infinite


@pytest.mark.parametrize(("span", "step"), [(10, 2), (0.7, 0.2), (37, 10), (1e9, 2e8)])
def test_nice_steps(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_points_from_disk_are_cleaned_and_sorted() -> None:
    raw = [(3, 1.0), (1, float("nan")), (2, None), ("x", 1), (0, 2.0), (5,), (4, float("inf"))]
    assert clean_points(raw) == [(0.0, 2.0), (3.0, 1.0)]


def test_no_points_no_svg_and_lost_scrapes_break_the_line() -> None:
    assert render_svg(Chart(key="k", title="t", lines=[Line("a", [], "#000")])) is None
    pts = [(t, 1.0) for t in (0, 1, 2, 3, 30, 31, 32)]
    svg = parse(str(render_svg(Chart(key="k", title="t", lines=[Line("a", pts, "#000")]))))
    d = svg.find_all("path", cls="series")[0].attrs["d"]
    assert d.count("M") == 2 and d.count("L") == 5


def test_long_series_are_thinned_to_pixel_columns_keeping_spikes() -> None:
    pts = [(float(t), 1.0) for t in range(5000)]
    pts[2345] = (2345.0, 50.0)
    kept = thin(pts, lambda x: x / 10)  # 500 pixel columns
    assert len(kept) <= 4 * 500 and (2345.0, 50.0) in kept and kept[0] == pts[0] and kept[-1] == pts[-1]
    assert thin(pts[:100], lambda x: x / 10) == pts[:100]


def test_labels_and_bands_are_escaped_and_fault_bands_marked() -> None:
    evil = "<script>x</script>"
    chart = Chart(key=evil, title=evil, lines=[Line(evil, [(0, 1), (10, 2)], "#123456")],
                  bands=[Band(0, 5, evil), Band(5, 10, "fault", fault=True)])
    markup = str(render_svg(chart))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert len(parse(markup).find_all("rect", cls="fault")) == 1


def test_phase_bands_mark_fault_phases_by_name_or_params() -> None:
    run = ScenarioRun(name="s", status=ScenarioStatus.completed, start=0, end=30, phases=[
        Phase(name="before", start=0, end=10), Phase(name="slow_llm", start=10, end=20,
                                                     params={"fault": {"llm_delay_s": 5}}),
        Phase(name="fault", start=20, end=25), Phase(name="recovery", start=25)])
    bands = phase_bands(run)
    assert [b.fault for b in bands] == [False, True, True, False]
    assert bands[-1].end == 30  # an open phase ends with its scenario


def _memory_item(evidence: dict) -> ItemResult:
    return ItemResult(id="memory_stable", title="m", category="performance", severity="blocker",
                      kind="metric", status="pass", reason="r", unit="MB/h", evidence=evidence,
                      window=Window(scenario="s", phase="steady", start=100, end=200))


def test_memory_trend_from_fitted_end_points_in_mb() -> None:
    rss = [(100.0, 400e6), (200.0, 401e6)]
    line = memory_trend([_memory_item({"trend_mb": [[100, 400.0], [200, 401.0]]})], "s", rss)
    assert line is not None and line.points == [(100.0, 400e6), (200.0, 401e6)]


@pytest.mark.parametrize("origin", [0.0, 100.0])
def test_memory_trend_from_slope_and_intercept_finds_the_origin(origin: float) -> None:
    slope, at_start = 1000.0, 400e6
    intercept = at_start - slope * (100 - origin)
    line = memory_trend([_memory_item({"trend": {"slope_bytes_per_s": slope, "intercept_bytes": intercept}})],
                        "s", [(100.0, at_start), (200.0, at_start + 1e5)])
    assert line is not None
    assert line.points[0][1] == pytest.approx(at_start) and line.points[1][1] == pytest.approx(at_start + 1e5)


def test_memory_trend_ignores_other_scenarios_and_shapeless_evidence() -> None:
    rss = [(100.0, 1.0)]
    assert memory_trend([_memory_item({"trend_mb": [[1, 2], [3, 4]]})], "other", rss) is None
    assert memory_trend([_memory_item({"trend_mb": "n/a", "slope": None})], "s", rss) is None
