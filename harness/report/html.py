"""Render ``report.html``: one self-contained page (CSS, script and SVG charts inline) from a run folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import harness
from harness.report import charts, links
from harness.report.capacity_page import render_capacity
from harness.report.page import environment
from harness.report.rundata import RunData, load_run
from harness.report.sessions import session_view
from harness.schemas import ItemResult, ItemStatus, RunFolder, RunKind
from harness.schemas.files import write_atomic

STATUS_RANK = {ItemStatus.failed: 0, ItemStatus.error: 1, ItemStatus.no_data: 1, ItemStatus.warn: 2,
               ItemStatus.waived: 3, ItemStatus.not_applicable: 4, ItemStatus.passed: 5}
NOT_GRADED = "NOT GRADED"


def outcome_of(data: RunData) -> tuple[str, str]:
    if not data.verdict:
        return NOT_GRADED, "verdict.json is missing or unreadable: this run was not graded"
    return data.verdict.outcome.value, data.verdict.reason


def sorted_items(items: list[ItemResult]) -> list[ItemResult]:
    """Worst first, then blockers before warnings, then checklist order."""
    order = {id(item): n for n, item in enumerate(items)}
    return sorted(items, key=lambda i: (STATUS_RANK.get(i.status, 1), i.severity != "blocker", order[id(i)]))


def _item_view(item: ItemResult, data: RunData) -> dict[str, Any]:
    return {
        "item": item,
        "links": links.prometheus_links(data.prometheus_url, item.query, item.window),
        "causes": data.causes(item.id) if item.status != ItemStatus.passed else [],
        "evidence": json.dumps(item.evidence, indent=1, sort_keys=True, default=str) if item.evidence else "",
    }


def build_context(data: RunData) -> dict[str, Any]:
    outcome, reason = outcome_of(data)
    items = data.verdict.items if data.verdict else []
    counts = {s.value: sum(1 for i in items if i.status == s) for s in ItemStatus}
    views = [_item_view(i, data) for i in sorted_items(items)]
    scenarios = []
    for name in data.scenarios:
        scenarios.append({
            "name": name,
            "run": data.scenario_run(name),
            "stats": data.stats.get(name),
            "charts": charts.scenario_charts(data, name),
            "overhead": data.overhead_of(name),
            "sessions": session_view(data.stats[name].sessions if name in data.stats else None),
        })
    return {
        "data": data,
        "run": data.run,
        "verdict": data.verdict,
        "outcome": outcome,
        "outcome_class": outcome.lower().replace(" ", "-"),
        "reason": reason,
        "failed": sorted_items(data.verdict.failed_blockers) if data.verdict else [],
        "warnings": [i for i in items if i.severity != "blocker" and i.status != ItemStatus.passed],
        "items": views,
        "counts": counts,
        "scenarios": scenarios,
        "has_junit": data.folder.junit.exists(),
        "prometheus_links": any(v["links"] for v in views),
        "has_baseline": any(i.baseline for i in items),
        "generated": time.time(),
        "version": harness.__version__,
    }


def render_run(run_folder: Path | str | RunFolder) -> Path:
    """Write ``<run_folder>/report.html`` from the folder's documents alone; returns its path."""
    data = load_run(run_folder)
    if data.kind == RunKind.capacity:
        return render_capacity(data)
    html = environment().get_template("report.html.j2").render(**build_context(data))
    return write_atomic(data.folder.report_html, html)
