"""Baseline comparison: a real shift beyond tolerance is a regression; the same distribution with a
noisy P99 is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from grade_runs import write_run

from harness.errors import ConfigError
from harness.grade.baseline import compare, parse_tolerance
from harness.schemas.run import RunFolder
from harness.schemas.verdict import ItemResult, ItemStatus, Outcome, Verdict, Window


def test_parse_tolerance() -> None:
    assert parse_tolerance("<=+10%") == ("<=", pytest.approx(0.10))
    assert parse_tolerance(">= -5 %") == (">=", pytest.approx(-0.05))
    with pytest.raises(ConfigError, match="10 percent"):
        parse_tolerance("10 percent")


def _graded(root: Path, run_id: str, latencies: np.ndarray, p99: float) -> Path:
    rows = [(float(x), 200, False, False) for x in latencies]
    folder = write_run(root / run_id, "target_2x", {"steady": rows})
    window = Window(scenario="target_2x", phase="steady", start=0, end=1)
    item = ItemResult(id="p99_latency", title="P99", category="performance", severity="blocker",
                      kind="metric", status=ItemStatus.passed, reason="ok", value=p99, window=window)
    verdict = Verdict(run_id=run_id, outcome=Outcome.go, reason="ok", items=[item], graded_at=0)
    verdict.save_file(folder.verdict)
    return folder.root


def _compare(new: Path, old: Path) -> ItemResult:
    verdict = Verdict.load_file(new / "verdict.json")
    compared = compare(verdict, new, old, {"p99_latency": "<=+10%"}, {"p99_latency": "p99_latency"})
    assert compared.baseline_run == old.name
    return compared.items[0]


def test_a_real_slowdown_is_a_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    old = _graded(tmp_path, "old", rng.lognormal(-1, 0.5, 2000), 1.0)
    new = _graded(tmp_path, "new", rng.lognormal(-1, 0.5, 2000) * 1.3, 1.3)
    item = _compare(new, old)
    assert item.baseline is not None and item.baseline.regression
    assert item.baseline.change == pytest.approx(0.3)
    assert "Mann-Whitney" in item.baseline.test
    assert item.status == ItemStatus.warn and "regressed" in item.reason


def test_noise_beyond_tolerance_is_not_a_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    old = _graded(tmp_path, "old", rng.lognormal(-1, 0.5, 300), 1.0)
    new = _graded(tmp_path, "new", rng.lognormal(-1, 0.5, 300), 1.2)  # same service, a noisy tail
    item = _compare(new, old)
    assert item.baseline is not None and not item.baseline.regression
    assert item.baseline.change == pytest.approx(0.2)
    assert item.status == ItemStatus.passed


def _error_verdict(root: Path, run_id: str, errors: int, requests: int) -> Path:
    folder = RunFolder(root / run_id).ensure()
    item = ItemResult(id="error_rate", title="errors", category="performance", severity="blocker",
                      kind="metric", status=ItemStatus.passed, reason="ok", value=errors / requests,
                      evidence={"errors": errors, "requests": requests})
    verdict = Verdict(run_id=run_id, outcome=Outcome.go, reason="ok", items=[item], graded_at=0)
    verdict.save_file(folder.verdict)
    return folder.root


@pytest.mark.parametrize(("new_errors", "regression"), [(9, True), (1, False)])
def test_errors_appearing_from_zero(tmp_path: Path, new_errors: int, regression: bool) -> None:
    old = _error_verdict(tmp_path, "old", 0, 3000)
    new = _error_verdict(tmp_path, "new", new_errors, 3000)
    verdict = compare(Verdict.load_file(new / "verdict.json"), new, old, {"error_rate": "<=+50%"},
                      {"error_rate": "error_rate"})
    delta = verdict.items[0].baseline
    assert delta is not None and delta.change is None and "Fisher" in delta.test
    assert delta.regression is regression
