"""Compare a verdict with an earlier run's: a change beyond the item's tolerance is a regression only
when a test on the two runs' samples says it is not noise."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from scipy import stats as scipy_stats

from harness import stats
from harness.errors import ConfigError
from harness.grade.requests_log import phase_rows
from harness.schemas.requests import read_request_log
from harness.schemas.run import RunFolder
from harness.schemas.verdict import BaselineDelta, ItemResult, ItemStatus, Verdict

SIGNIFICANCE = 0.05
_TOLERANCE = re.compile(r"^\s*(<=|>=)\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$")
_LATENCY_MEASURES = ("p99_latency", "client_p99", "max_latency")


def parse_tolerance(text: str) -> tuple[str, float]:
    """'<=+10%' -> ('<=', 0.10): the relative change allowed (up for '<=', down for '>=')."""
    match = _TOLERANCE.match(text)
    if not match:
        raise ConfigError(f"baseline_tolerance {text!r} is not like '<=+10%' or '>=-5%'")
    return match.group(1), float(match.group(2)) / 100


def compare(verdict: Verdict, run_dir: Path, baseline_dir: Path, tolerances: dict[str, str],
            measures: dict[str, str | None]) -> Verdict:
    """Attach a BaselineDelta to each item with a tolerance; a passing item that regressed becomes warn."""
    base_folder = RunFolder(baseline_dir)
    old = Verdict.load_file(base_folder.verdict)
    old_items = {i.id: i for i in old.items}
    for item in verdict.items:
        tolerance = tolerances.get(item.id)
        previous = old_items.get(item.id)
        if not tolerance or previous is None or item.value is None or previous.value is None:
            continue
        op, allowed = parse_tolerance(tolerance)
        if previous.value:
            change = (item.value - previous.value) / abs(previous.value)
            beyond = change > allowed if op == "<=" else change < allowed
        else:  # from zero, any move the bad way is beyond a relative tolerance
            change = None
            beyond = item.value > 0 if op == "<=" else item.value < 0
        test, significant = _significance(item, previous, measures.get(item.id), Path(run_dir), base_folder)
        item.baseline = BaselineDelta(baseline_run=old.run_id, baseline_value=previous.value, change=change,
                                      regression=bool(beyond and significant), test=test)
        if item.baseline.regression and item.status == ItemStatus.passed:
            item.status = ItemStatus.warn
            moved = f"{change:+.0%}" if change is not None else f"from {previous.value:g} to {item.value:g}"
            item.reason += f"; regressed {moved} vs {old.run_id} ({test})"
    verdict.baseline_run = old.run_id
    return verdict


def _significance(item: ItemResult, previous: ItemResult, measure: str | None, run_dir: Path,
                  base: RunFolder) -> tuple[str, bool]:
    """(description, significant). Latency: one-sided Mann-Whitney U on the two runs' request logs;
    error counts: one-sided Fisher exact test; otherwise the tolerance alone decides."""
    if measure in _LATENCY_MEASURES and item.window and previous.window and item.window.scenario:
        new = _latencies(item, run_dir)
        old = _latencies(previous, base.root)
        if new is not None and old is not None and len(new) and len(old):
            p = stats.shift_p_value(old, new)
            return f"Mann-Whitney U p={p:.3g} (n={len(old)}, {len(new)})", p < SIGNIFICANCE
    if {"errors", "requests"} <= item.evidence.keys() and {"errors", "requests"} <= previous.evidence.keys():
        table = [[item.evidence["errors"], item.evidence["requests"] - item.evidence["errors"]],
                 [previous.evidence["errors"], previous.evidence["requests"] - previous.evidence["errors"]]]
        p = float(scipy_stats.fisher_exact(table, alternative="greater").pvalue)
        return f"Fisher exact p={p:.3g}", p < SIGNIFICANCE
    return "no sample test for this measure: tolerance only", True


def _latencies(item: ItemResult, run_dir: Path) -> pd.Series | None:
    assert item.window is not None
    frame = read_request_log(RunFolder(run_dir).request_log(item.window.scenario or ""))
    if frame is None:
        return None
    return phase_rows(frame, item.window.phase, (item.window.start, item.window.end))["latency"]
