"""What the report charts: per scenario, 1 s series from Prometheus and from the request log, saved
in series.json so the report can be rebuilt after Prometheus is gone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.errors import GradeError
from harness.grade.context import GradeContext
from harness.grade.prom import Prom
from harness.grade.queries import DEFAULT_CHART_RATE_S, chart_queries
from harness.schemas.timeline import Timeline
from harness.schemas.verdict import Series, SeriesSet

CLIENT_WINDOW_S = DEFAULT_CHART_RATE_S  # the same trailing window as the server-side rate() charts


def collect_series(timeline: Timeline | None, prom: Prom | None, logs: dict[str, pd.DataFrame | None],
                   ctx: GradeContext) -> SeriesSet:
    """One point per scrape interval, rates over several of them."""
    step_s = (prom.scrape_interval_s(ctx.job) if prom else None) or 1.0
    charts = chart_queries(ctx.metrics, ctx.job, max(DEFAULT_CHART_RATE_S, 4 * step_s))
    out = SeriesSet(step_s=step_s)
    for run in timeline.scenarios if timeline else []:
        start, end = run.window()
        if end <= start:
            continue
        if prom is not None:
            for name, (query, unit) in charts.items():
                try:
                    rows = prom.range(query, start, end, step_s)
                except GradeError:
                    continue  # a chart short of one line; the items say what was missing
                for labels, points in rows:
                    clean = [(t, v) for t, v in points if np.isfinite(v)]
                    out.series.append(Series(name=name, scenario=run.name, unit=unit, query=query,
                                             labels=labels, points=clean))
        frame = logs.get(run.name)
        if frame is not None and len(frame):
            out.series.extend(_client_percentiles(run.name, frame, start, end, step_s))
    return out


def _client_percentiles(scenario: str, frame: pd.DataFrame, start: float, end: float,
                        step_s: float) -> list[Series]:
    order = np.argsort(frame["intended_start"].to_numpy())
    starts = frame["intended_start"].to_numpy()[order]
    latency = frame["latency"].to_numpy()[order]
    points: dict[str, list[tuple[float, float]]] = {"client_p50": [], "client_p95": [], "client_p99": []}
    for t in np.arange(np.ceil(start), end + step_s / 2, step_s):
        lo, hi = np.searchsorted(starts, [t - CLIENT_WINDOW_S, t])
        if hi <= lo:
            continue
        values = np.quantile(latency[lo:hi], [0.5, 0.95, 0.99])
        for name, value in zip(points, values, strict=True):
            points[name].append((float(t), float(value)))
    source = f"requests.csv, trailing {CLIENT_WINDOW_S:g} s by intended start"
    return [Series(name=name, scenario=scenario, unit="s", query=source, points=pts)
            for name, pts in points.items()]
