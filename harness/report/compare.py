"""``loadgate capacity --compare RUN_DIR...``: earlier capacity runs side by side, one colour each.

The first run is the reference: for every search another run shares with it (same name, e.g.
``workers=1``), the other run's breaking rate outside the reference's rerun interval is a real change,
inside it noise (no more than a rerun of the reference moves).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import harness
from harness.errors import ReportError
from harness.report import capacity_charts as cc
from harness.report.capacity import STEP_COLUMNS, headline, rps, rps_range, step_rows
from harness.report.capacity_export import write_exports
from harness.report.fmt import fmt_change
from harness.report.page import environment
from harness.report.rundata import load_run
from harness.schemas.capacity import CapacityResult, SearchResult
from harness.schemas.files import make_dirs, write_atomic


def load_capacity_runs(run_dirs: list[Path]) -> list[tuple[str, CapacityResult]]:
    """(run id, capacity.json) per folder, in the order given; a folder without one is an error."""
    runs = []
    for where in run_dirs:
        data = load_run(where)
        if data.capacity is None:
            raise ReportError(f"{where} is not a finished capacity run: "
                              f"{'; '.join(data.problems) or 'no capacity.json'}")
        runs.append((data.run_id, data.capacity))
    if len(runs) < 2:
        raise ReportError(f"--compare needs at least two run folders, got {len(runs)}")
    return runs


def change_row(search: SearchResult, reference: SearchResult, run: str) -> dict[str, Any]:
    """One search of a later run against the same search of the reference run."""
    base, now = reference.max_sustainable_rps, search.max_sustainable_rps
    real = None
    if search.breaking and reference.breaking:
        real = not reference.breaking.rerun_covers(search.breaking.estimate_rps)
    verdict = {True: "real", False: "noise", None: "—"}[real]
    rerun = reference.breaking.rerun_interval_rps if reference.breaking else None
    return {
        "run": run, "search": search.name, "reference": rps(base), "now": rps(now),
        "change": fmt_change((now - base) / base) if base and now is not None else "—",
        "breaks": rps(search.breaking.estimate_rps) if search.breaking else "—",
        "rerun": rps_range(*rerun) if rerun else "—", "real": verdict,
    }


def compare_view(runs: list[tuple[str, CapacityResult]]) -> dict[str, Any]:
    sources, steps, changes = [], [], []
    reference = {s.name: s for s in runs[0][1].searches}
    for n, (run_id, result) in enumerate(runs):
        color = cc.PALETTE[n % len(cc.PALETTE)]
        sources += cc.sources_of(result, prefix=f"{run_id} · ", color=color)
        steps += [{"run": run_id, "color": color, "step": row.step, "cells": row.cells}
                  for row in step_rows(result)]
        if n:
            changes += [change_row(s, reference[s.name], run_id)
                        for s in result.searches if s.name in reference]
    slo = runs[0][1].slo_p99_s
    return {
        "runs": [{"id": run_id, "color": cc.PALETTE[n % len(cc.PALETTE)], "headline": headline(result),
                  "result": result} for n, (run_id, result) in enumerate(runs)],
        "charts": [cc.throughput_chart(sources), cc.p99_overlay(sources, slo), cc.breaking_chart(sources),
                   cc.usl_chart(sources)],
        "changes": changes, "columns": STEP_COLUMNS, "steps": steps,
    }


def render_compare(run_dirs: list[Path], out_dir: Path) -> Path:
    """Write ``compare.html`` and the CSV / Markdown summaries of every run into ``out_dir``."""
    runs = load_capacity_runs(run_dirs)
    make_dirs(out_dir)
    write_exports(out_dir, runs, prefix="compare")
    html = environment().get_template("compare.html.j2").render(
        view=compare_view(runs), generated=time.time(), version=harness.__version__)
    return write_atomic(out_dir / "compare.html", html)
