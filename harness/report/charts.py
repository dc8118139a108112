"""Which charts a scenario gets, built from the series the grader kept and the client statistics.

Series are sorted into charts by name (``client_p99``, ``server_p95``, ``rps``, ``errors``, ``rss_bytes``,
``llm_p95``, ``ttft_p95``, ``breaker_state``, ``degraded_ratio``, ...). A name no chart claims still shows,
in an "other" chart per unit, so nothing the grader kept is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harness.report.fmt import fmt_duration, is_number
from harness.report.rundata import RunData
from harness.report.sessions import turn_latency_chart
from harness.report.svg import Band, Chart, Line, RefLine, clean_points
from harness.schemas import ItemResult, ScenarioRun, Series

_PCT_COLORS = {"p50": "#2e90fa", "p90": "#12b76a", "p95": "#f79009", "p99": "#d92d20", "p999": "#7a5af8",
               "max": "#344054", "mean": "#0ba5ec"}
_PALETTE = ("#1570ef", "#d92d20", "#f79009", "#12b76a", "#7a5af8", "#ee46bc", "#0e9384", "#344054")
_FAULT_KEYS = ("fault", "llm_delay_s", "llm_jitter_s", "llm_error_rate", "redis_down")
BREAKER_LABELS = {0.0: "closed", 1.0: "half-open", 2.0: "open"}


def _is_latency(n: str) -> bool:
    return ("latency" in n or re.search(r"_(p\d+|mean|max)$", n) is not None) and not _is_llm(n)


def _is_llm(n: str) -> bool:
    return n.startswith("llm") or "ttft" in n


def _is_throughput(n: str) -> bool:
    return any(k in n for k in ("rps", "throughput", "error", "requests", "dropped", "late"))


def _is_memory(n: str) -> bool:
    return "rss" in n or "memory" in n


def _is_resilience(n: str) -> bool:
    return "breaker" in n or "degraded" in n


# (key, title, default unit, claims a series name); order is the page order.
CHARTS: tuple[tuple[str, str, str, Callable[[str], bool]], ...] = (
    ("latency", "Latency over time (client solid, server dashed)", "s", _is_latency),
    ("throughput", "Throughput and errors", "req/s", _is_throughput),
    ("memory", "Memory (RSS) with fitted trend", "bytes", _is_memory),
    ("llm", "LLM latency (solid) and time to first token (dashed)", "s", _is_llm),
    ("resilience", "Circuit breaker and degraded answers", "ratio", _is_resilience),
)


def _color(name: str, index: int) -> str:
    m = re.search(r"(p\d+|mean|max)$", name)
    if m and m.group(1) in _PCT_COLORS:
        return _PCT_COLORS[m.group(1)]
    return _PALETTE[index % len(_PALETTE)]


def phase_bands(run: ScenarioRun | None) -> list[Band]:
    if not run:
        return []
    bands = []
    for phase in run.phases:
        fault = "fault" in phase.name.lower() or any(phase.params.get(k) for k in _FAULT_KEYS)
        bands.append(Band(phase.start, phase.end or run.end or phase.start, phase.name, fault))
    return bands


def _line(series: Series, index: int, left_unit: str) -> Line:
    name = series.name.lower()
    label = series.name + (" " + ",".join(f"{k}={v}" for k, v in sorted(series.labels.items()))
                           if series.labels else "")
    if "breaker" in name:
        return Line(label, series.points, "#344054", step=True, axis="right", width=1.4)
    # A percentile's colour stays the same on both sides; the server's (and TTFT's) line is dashed.
    dash = name.startswith("server") or "ttft" in name
    return Line(label, series.points, _color(name, index), dash=dash,
                axis="left" if (series.unit or left_unit) == left_unit else "right")


def _build(key: str, title: str, unit: str, series: list[Series], bands: list[Band], origin: float) -> Chart:
    units = [s.unit for s in series if s.unit and "breaker" not in s.name.lower()]
    left_unit = units[0] if units else unit
    chart = Chart(key=key, title=title, unit=left_unit, bands=bands, origin=origin)
    chart.lines = [_line(s, i, left_unit) for i, s in enumerate(series)]
    right = [s for s, line in zip(series, chart.lines, strict=True) if line.axis == "right"]
    if any("breaker" in s.name.lower() for s in right):
        chart.right_range, chart.right_labels = (0.0, 2.0), BREAKER_LABELS
    elif right:
        chart.right_unit = right[0].unit
    return chart


def _threshold_value(item: ItemResult) -> float | None:
    m = re.match(r"^\s*(?:<=|>=|<|>|==)\s*([-+0-9.eE]+)", item.threshold or "")
    try:
        return float(m.group(1)) if m else None
    except ValueError:
        return None


def latency_refs(items: list[ItemResult], scenario: str) -> list[RefLine]:
    """Latency thresholds of this scenario's items, as reference lines (at most two, distinct)."""
    refs: dict[float, RefLine] = {}
    for item in items:
        if item.unit != "s" or not item.window or item.window.scenario != scenario:
            continue
        if not re.search(r"p\d+|latency", item.id) or "llm" in item.id or "ttft" in item.id:
            continue
        value = _threshold_value(item)
        if value is not None and value not in refs and len(refs) < 2:
            refs[value] = RefLine(value, f"{item.id} {item.threshold}")
    return list(refs.values())


def _number(d: dict[str, Any], prefixes: tuple[str, ...]) -> float | None:
    for k, v in d.items():
        if k.lower().startswith(prefixes) and is_number(v):
            return float(v)
    return None


_SCALES = {"_mb": 1e6, "_mib": 2.0**20, "_gb": 1e9, "_gib": 2.0**30, "_kb": 1e3, "_kib": 2.0**10}


def _scale_of(key: str) -> float:
    """Evidence keys say their unit by suffix (``trend_mb``); the RSS series is in bytes."""
    return next((f for suffix, f in _SCALES.items() if key.lower().endswith(suffix)), 1.0)


def _fitted_line(ev: dict[str, Any], start: float, end: float,
                 rss: list[tuple[float, float]]) -> list[tuple[float, float]] | None:
    for key, value in ev.items():  # fitted end points, e.g. "trend_mb": [[t0, v0], [t1, v1]]
        if key.lower().startswith(("trend", "fit")) and isinstance(value, list):
            pts = clean_points(value)
            if len(pts) >= 2:
                return [(t, v * _scale_of(key)) for t, v in (pts[0], pts[-1])]
    slope, intercept = _number(ev, ("slope",)), _number(ev, ("intercept",))
    if slope is None or intercept is None:
        return None
    origin = _number(ev, ("t0", "origin", "x0"))
    if origin is None:  # intercept at the unix epoch or at the window start: whichever meets the data
        near = min(rss, key=lambda p: abs(p[0] - start))[1]
        origin = min((0.0, start), key=lambda o: abs(intercept + slope * (start - o) - near))
    return [(t, intercept + slope * (t - origin)) for t in (start, end)]


def memory_trend(items: list[ItemResult], scenario: str, rss: list[tuple[float, float]]) -> Line | None:
    """The fitted RSS trend from the memory item's evidence, drawn over the fitted window.

    The evidence's shape belongs to the grader, so read it loosely: fitted end points (``trend_mb``), or
    a slope and an intercept (at the top, or under "trend"/"fit") with an optional time origin.
    """
    if not rss:
        return None
    for item in items:
        if item.window and item.window.scenario not in (None, scenario):
            continue
        if not any(k in item.id for k in ("mem", "rss", "leak")) and item.unit.lower() not in ("bytes", "b"):
            continue
        start = item.window.start if item.window else rss[0][0]
        end = item.window.end if item.window else rss[-1][0]
        for ev in (item.evidence, item.evidence.get("trend"), item.evidence.get("fit")):
            points = _fitted_line(ev, start, end, rss) if isinstance(ev, dict) else None
            if points:
                return Line(f"trend ({item.id})", points, "#667085", dash=True, width=1.4)
    return None


def _trend_note(trend: Line) -> str:
    (t0, v0), (t1, v1) = trend.points
    if t1 <= t0:
        return ""
    mb_per_hour = (v1 - v0) / (t1 - t0) * 3600 / 1e6  # decimal MB/h, the grader's unit
    return f"Fitted trend: {mb_per_hour:+.3g} MB/h over {fmt_duration(t1 - t0)}"


def spectrum_chart(data: RunData, scenario: str) -> Chart:
    stats = data.stats.get(scenario)
    points = [(p, v) for p, v in clean_points(stats.spectrum if stats else []) if p < 100]
    chart = Chart(key="spectrum", title="Latency by percentile (client, whole scenario)", unit="s",
                  x="percentile")
    if points:
        chart.lines = [Line("client latency", points, "#1570ef", width=1.8)]
    return chart


def scenario_charts(data: RunData, scenario: str) -> list[Chart]:
    """The scenario's charts in page order; a chart with nothing to draw is kept, to say "no data"."""
    run = data.scenario_run(scenario)
    series = data.series.for_scenario(scenario) if data.series else []
    series = [s for s in series if clean_points(s.points)]
    bands = phase_bands(run)
    origin = run.start if run else min((p[0] for s in series for p in clean_points(s.points)), default=0.0)
    items = data.verdict.items if data.verdict else []
    charts, claimed = [], set()
    for key, title, unit, claims in CHARTS:
        mine = [s for s in series if id(s) not in claimed and claims(s.name.lower())]
        claimed.update(id(s) for s in mine)
        chart = _build(key, title, unit, mine, bands, origin)
        if key == "latency":
            chart.refs = latency_refs(items, scenario) if mine else []
        if key == "memory":
            chart.zero_based = False
            trend = memory_trend(items, scenario, [p for s in mine for p in clean_points(s.points)])
            if trend:
                chart.lines.append(trend)
                chart.note = _trend_note(trend)
        charts.append(chart)
    charts.append(spectrum_chart(data, scenario))
    stats = data.stats.get(scenario)
    if stats is not None and stats.sessions is not None:
        charts.append(turn_latency_chart(stats.sessions))
    rest: dict[str, list[Series]] = {}
    for s in series:
        if id(s) not in claimed:
            rest.setdefault(s.unit, []).append(s)
    for unit, group in rest.items():
        charts.append(_build(f"other-{unit or 'none'}", f"Other series ({unit or 'no unit'})", unit, group,
                             bands, origin))
    return charts
