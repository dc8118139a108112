"""``reports/index.html``: every run in a reports folder, newest first, with a small trend chart."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import ReportError
from harness.report.charts import phase_bands
from harness.report.fmt import fmt_value
from harness.report.html import outcome_of
from harness.report.page import environment
from harness.report.rundata import RunData, load_run
from harness.report.svg import Chart, Line, clean_points
from harness.schemas import RunKind
from harness.schemas.capacity import CapacityResult
from harness.schemas.files import write_atomic

_SKIPPED_PHASES = ("warm", "fault")  # cold starts and injected faults would drown the service's own trend


@dataclass
class RunRow:
    run_id: str
    started: float | None
    profile: str
    outcome: str
    failed: list[str]
    p99: float | None
    error_rate: float | None
    peak_rss: float | None
    report: str | None  # link relative to the index
    kind: RunKind = RunKind.gate
    answer: str = ""  # a capacity run's answer in one line


def capacity_answer(result: CapacityResult | None) -> str:
    if result is None:
        return "no capacity.json"
    if result.max_sustainable_rps is None:
        return "no rate met the SLO"
    text = f"holds {fmt_value(result.max_sustainable_rps, 'req/s')}"
    if result.recommendation:
        text += f" ({result.recommendation.per_replica_source})"
    if result.breaking:
        text += f", breaks near {fmt_value(result.breaking.estimate_rps, 'req/s')}"
    return text


def _fault_phases(data: RunData) -> set[tuple[str, str]]:
    out = set()
    for name in data.scenarios:
        out |= {(name, b.label) for b in phase_bands(data.scenario_run(name)) if b.fault}
    return out


def run_row(data: RunData, reports_dir: Path) -> RunRow:
    """Headline numbers: worst client P99 and error rate over non-warm-up, non-fault phases; peak RSS.
    A capacity run has no verdict: its row says so, with its answer."""
    if data.kind == RunKind.capacity:
        report = data.folder.report_html
        rec = data.capacity.recommendation if data.capacity else None
        return RunRow(run_id=data.run_id, started=data.run.started if data.run else None,
                      profile=data.run.profile if data.run else "", outcome="CAPACITY", failed=[], p99=None,
                      error_rate=None, peak_rss=rec.memory_per_replica_bytes if rec else None,
                      report=report.relative_to(reports_dir).as_posix() if report.exists() else None,
                      kind=RunKind.capacity, answer=capacity_answer(data.capacity))
    faults = _fault_phases(data)
    phases = [p for name, stats in data.stats.items() for p in stats.phases
              if (name, p.phase) not in faults and not any(k in p.phase.lower() for k in _SKIPPED_PHASES)]
    p99s = [p.latency.p99 for p in phases if p.latency.p99 is not None]
    requests = sum(p.requests for p in phases)
    rss = [v for s in (data.series.series if data.series else []) if "rss" in s.name.lower()
           for _, v in clean_points(s.points)]
    outcome, _ = outcome_of(data)
    report = data.folder.report_html
    return RunRow(
        run_id=data.run_id,
        started=data.run.started if data.run else None,
        profile=data.run.profile if data.run else "",
        outcome=outcome,
        failed=[i.id for i in data.verdict.failed_blockers] if data.verdict else [],
        p99=max(p99s) if p99s else None,
        error_rate=sum(p.failures for p in phases) / requests if requests else None,
        peak_rss=max(rss) if rss else None,
        report=report.relative_to(reports_dir).as_posix() if report.exists() else None,
    )


def collect_runs(reports_dir: Path) -> tuple[list[RunRow], list[str]]:
    """Rows of the readable run folders, newest first, and a note for each folder skipped.

    One damaged folder (a file that is not UTF-8, a truncated JSON) must not cost the index of every
    other run, nor fail every later gate that renders it.
    """
    rows, skipped = [], []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir()):
        if not ((folder / "run.json").exists() or (folder / "verdict.json").exists()):
            continue  # not a run folder (e.g. a stray directory)
        try:
            data = load_run(folder)
            if data.unreadable:
                raise ReportError("; ".join(data.unreadable))
            rows.append(run_row(data, reports_dir))
        except (ReportError, OSError, ValueError) as exc:
            skipped.append(f"{folder.name}: skipped, {exc}")
    # Newest first; a run without run.json sorts by its folder's modification time.
    rows.sort(key=lambda r: r.started or (reports_dir / r.run_id).stat().st_mtime, reverse=True)
    return rows, skipped


def trend_chart(rows: list[RunRow]) -> Chart:
    oldest_first = [r for r in reversed(rows) if r.kind == RunKind.gate]  # gate runs' latency only
    chart = Chart(key="trend", title="P99 and error rate by run (oldest left)", unit="s", right_unit="ratio")
    p99 = [(n, r.p99) for n, r in enumerate(oldest_first) if r.p99 is not None]
    errors = [(n, r.error_rate) for n, r in enumerate(oldest_first) if r.error_rate is not None]
    chart.lines = [Line("client P99", p99, "#d92d20", markers=True),
                   Line("error rate", errors, "#1570ef", dash=True, axis="right", markers=True)]
    every = max(1, len(oldest_first) // 8)
    chart.x_ticks = [(float(n), datetime.fromtimestamp(r.started, UTC).strftime("%m-%d %H:%M") if r.started
                      else r.run_id[:12]) for n, r in enumerate(oldest_first) if n % every == 0]
    return chart


def render_index(reports_dir: Path) -> Path:
    """Write ``<reports_dir>/index.html`` listing every run folder in it; returns its path."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        raise ReportError(f"no reports folder at {reports_dir}")
    rows, skipped = collect_runs(reports_dir)
    html = environment().get_template("index.html.j2").render(
        rows=rows, skipped=skipped, chart=trend_chart(rows), generated=time.time(),
        reports_dir=str(reports_dir))
    return write_atomic(reports_dir / "index.html", html)
