"""A query that found nothing says what it looked for and what exists instead, and which field of the
service profile to set: never a silent no-data, never a list of unrelated causes."""

from __future__ import annotations

import difflib
import re
from typing import Any
from urllib.parse import urlencode

from harness.grade.context import GradeContext
from harness.grade.prom import PromQueryError
from harness.grade.result import NoData
from harness.schemas.service import Series
from harness.schemas.verdict import Window

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"')
_HIDDEN = {"__name__", "job", "instance"}
SHOWN_VALUES = 5


def _series(ctx: GradeContext, match: str, window: Window) -> list[dict[str, str]]:
    query = urlencode({"match[]": match, "start": f"{window.start - 3600:.3f}", "end": f"{window.end:.3f}"})
    try:
        return list(ctx.require_prom().api(f"series?{query}"))
    except PromQueryError:
        return []


def _names_in_job(ctx: GradeContext, window: Window) -> list[str]:
    query = urlencode({"match[]": f'{{job="{ctx.job}"}}', "start": f"{window.start - 3600:.3f}",
                       "end": f"{window.end:.3f}"})
    try:
        return sorted(ctx.require_prom().api(f"label/__name__/values?{query}"))
    except PromQueryError:
        return []


def _labels(found: list[dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for labels in found:
        for key, value in labels.items():
            if key not in _HIDDEN:
                out.setdefault(key, set()).add(value)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _show(values: list[str]) -> str:
    more = f", ... ({len(values)} values)" if len(values) > SHOWN_VALUES else ""
    return ", ".join(f'"{v}"' for v in values[:SHOWN_VALUES]) + more


def explain(ctx: GradeContext, series: Series, field: str, window: Window,
            suffix: str = "") -> tuple[str, dict[str, Any]]:
    """(one line, evidence) for a mapped series the window's query found nothing of."""
    name = series.name + suffix
    wanted = f"{name}{{{ctx.q.sel(series)}}}"
    evidence: dict[str, Any] = {"looked_for": wanted, "field": field}
    in_job = _series(ctx, f'{{__name__="{name}", job="{ctx.job}"}}', window)
    if in_job and _series(ctx, wanted, window):
        line = f"{wanted} exists but has no samples in {window.scenario or 'the window'}/{window.phase or ''}"
        evidence["explanation"] = line
        return line, evidence
    if in_job:
        labels = _labels(in_job)
        evidence["labels"] = labels
        selected = [m.group(1) for m in _LABEL.finditer(series.selector)]
        absent = [lbl for lbl in selected if lbl not in labels]
        if absent:
            shown = "{" + ", ".join(labels) + "}" if labels else "no labels"
            line = (f"{name} exists with labels {shown} only; the profile selects {series.selector}; "
                    f"set {field}.selector")
        else:
            have = "; ".join(f"{lbl} in {_show(labels[lbl])}" for lbl in selected)
            line = (f"{name} exists but none of its series match {series.selector} ({have}); "
                    f"set {field}.selector")
        evidence["explanation"] = line
        return line, evidence
    elsewhere = sorted({s.get("job", "") for s in _series(ctx, f'{{__name__="{name}"}}', window)})
    if elsewhere:
        line = (f"{name} exists under job={_show(elsewhere)}, not job={ctx.job}; set service.metrics.job "
                f"(or --job)")
    else:
        names = _names_in_job(ctx, window)
        if not names:
            line = (f"Prometheus has no series at all for job={ctx.job}: is the service's metrics endpoint "
                    f"scraped (--metrics-url)?")
        else:
            close = difflib.get_close_matches(name, names, n=4, cutoff=0.5)
            instead = f"; job={ctx.job} has {', '.join(close)}" if close else \
                f"; job={ctx.job} has {len(names)} other metrics"
            line = f"no {name} in job={ctx.job}{instead}; set {field}.name (or run `loadgate detect`)"
        evidence["names_in_job"] = names[:50]
    evidence["explanation"] = line
    return line, evidence


def missing_series(ctx: GradeContext, series: Series, field: str, window: Window, *, query: str,
                   suffix: str = "") -> NoData:
    """The no-data to raise when ``query`` over ``series`` returned nothing."""
    line, evidence = explain(ctx, series, field, window, suffix)
    return NoData(line, query=query, window=window, evidence={"missing_series": evidence})
