"""The capacity section, rendered generically from ``capacity.json``'s raw JSON.

The capacity schema names every field with its unit (``p99_s``, ``rss_bytes_max``, ``rate_rps``), so values
are formatted by field name, and the section keeps working as the schema grows: scalars become facts,
nested records become facts with a prefix, lists of records become tables (columns that are empty in
every row are dropped). One chart: P99 by offered rate per search, against the SLO, when steps carry them.
"""

from __future__ import annotations

import json
from typing import Any

from harness.report.fmt import fmt_time, fmt_value, is_number
from harness.report.svg import Chart, Line, RefLine

MAX_ROWS = 50
_PALETTE = ("#1570ef", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384")


def _unit_of(key: str) -> str:
    k = key.lower().removesuffix("_ci")
    for suffix, unit in (("_s", "s"), ("_bytes", "bytes"), ("_bytes_max", "bytes"), ("_rps", "req/s"),
                         ("error_rate", "ratio"), ("_ratio", "ratio")):
        if k.endswith(suffix) or k == suffix.lstrip("_"):
            return unit
    return ""


def fmt_field(key: str, value: Any) -> str:
    """One field's value in words, by what its name says it is."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        k = key.lower()
        if k in ("started", "ended") or k.endswith("_at"):
            return fmt_time(value)
        unit = _unit_of(key)
        return fmt_value(value, unit) if unit else f"{value:.4g}"
    if isinstance(value, list | tuple):
        if all(v is None or is_number(v) for v in value):
            return "[" + ", ".join(fmt_field(key, v) for v in value) + "]"
        if all(isinstance(v, str) for v in value):
            return "; ".join(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt_field(k, v)}" for k, v in value.items())
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)[:200]


def _table(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    columns = [c for c in columns if any(row.get(c) not in (None, [], {}, "") for row in rows)]
    body = [[(fmt_field(c, row.get(c)), is_number(row.get(c))) for c in columns] for row in rows[:MAX_ROWS]]
    return {"name": name, "columns": columns, "rows": body, "more": max(0, len(rows) - MAX_ROWS)}


def _p99_chart(capacity: dict[str, Any]) -> Chart | None:
    steps = [s for s in capacity.get("steps") or [] if isinstance(s, dict)]
    by_search: dict[str, list[tuple[float, float]]] = {}
    for step in steps:
        if is_number(step.get("rate_rps")) and is_number(step.get("p99_s")):
            point = (step["rate_rps"], step["p99_s"])
            by_search.setdefault(str(step.get("search", "steps")), []).append(point)
    if not by_search:
        return None
    chart = Chart(key="capacity", title="P99 by offered rate (each step)", unit="s", x="value",
                  x_unit="req/s")
    chart.lines = [Line(name, pts, _PALETTE[n % len(_PALETTE)], markers=True)
                   for n, (name, pts) in enumerate(by_search.items())]
    if is_number(capacity.get("slo_p99_s")):
        chart.refs = [RefLine(capacity["slo_p99_s"], f"SLO P99 {fmt_value(capacity['slo_p99_s'], 's')}")]
    return chart


def capacity_view(capacity: Any) -> dict[str, Any] | None:
    """What the template shows: a headline, facts, tables and at most one chart; None when absent."""
    if capacity is None:
        return None
    if not isinstance(capacity, dict):
        facts = [("capacity.json", fmt_field("", capacity))]
        return {"summary": "", "facts": facts, "tables": [], "chart": None}
    facts: list[tuple[str, str]] = []
    tables = []
    for key, value in capacity.items():
        if key in ("schema_version", "summary"):
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append(_table(key, value))
        elif isinstance(value, dict):
            facts += [(f"{key} · {k}", fmt_field(k, v)) for k, v in value.items()]
        elif value not in ([], ""):  # an empty list (no what-ifs asked) is not a finding
            facts.append((key, fmt_field(key, value)))
    return {"summary": str(capacity.get("summary") or ""), "facts": facts, "tables": tables,
            "chart": _p99_chart(capacity)}
