"""Streaming SLO items (TTFT, ITL, tokens/s, goodput) graded from a written request log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.schemas.checklist import (
    Category,
    Checklist,
    ChecklistItem,
    ItemKind,
    Profile,
    Severity,
    Threshold,
)
from harness.schemas.requests import RequestRow, write_request_log
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus

T0 = 1_700_000_000.0
N = 600


def _item(measure: str, op: str, value: float, **params: float) -> ChecklistItem:
    return ChecklistItem(id=measure, title=measure, category=Category.performance, severity=Severity.warning,
                         kind=ItemKind.client, scenario="s", phase="steady", measure=measure,
                         threshold=Threshold(op=op, value=value), min_samples=100, params=params,
                         rationale="test")


def _run(root: Path) -> tuple[GradeContext, dict[str, np.ndarray]]:
    rng = np.random.default_rng(4)
    ttft = rng.uniform(0.1, 1.0, N)
    itl = rng.uniform(0.02, 0.06, N)
    tokens = rng.integers(8, 64, N)
    failed = np.arange(N) % 50 == 0
    rows = []
    for i in range(N):
        t = T0 + i * 0.1
        end = t + ttft[i] + (tokens[i] - 1) * itl[i]
        status, outcome = (500, "error") if failed[i] else (200, "served")
        rows.append(RequestRow.measured(intended_start=t, start=t, end=end, status=status,
                                        endpoint="/v1/agent/stream", phase="steady", cached=False,
                                        degraded=False, ttft=ttft[i], itl=itl[i], outcome=outcome,
                                        output_tokens=int(tokens[i])))
    rows.append(RequestRow.measured(intended_start=T0, start=T0, end=T0 + 0.2, status=200,
                                    endpoint="/v1/agent/run", phase="steady", cached=True, degraded=False,
                                    outcome="served"))
    folder = RunFolder(root).ensure()
    write_request_log(folder.request_log("s"), rows)
    run = ScenarioRun(name="s", status=ScenarioStatus.completed, start=T0, end=T0 + N * 0.1,
                      phases=[Phase(name="steady", start=T0, end=T0 + N * 0.1)])
    Timeline(run_id="u", scenarios=[run]).save_file(folder.timeline)
    checklist = Checklist(target_qps=10, profiles={"quick": Profile(scenarios={})}, items=[])
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, prom_error="none",
                       folder=folder, timeline=Timeline.load_file(folder.timeline))
    latency = ttft + (tokens - 1) * itl
    return ctx, {"ttft": ttft, "itl": itl, "tokens": tokens, "failed": failed, "latency": latency}


def test_ttft_and_itl_percentiles(tmp_path: Path) -> None:
    ctx, truth = _run(tmp_path)
    ttft = grade_item(ctx, _item("ttft_p95", "<", 2.0), {})
    assert ttft.status == ItemStatus.passed and ttft.samples == N  # the non-streamed request is left out
    assert ttft.value == pytest.approx(np.quantile(truth["ttft"], 0.95, method="inverted_cdf"), abs=1e-5)
    assert ttft.bound >= ttft.value
    strict = grade_item(ctx, _item("itl_p95", "<", 0.03), {})
    assert strict.status == ItemStatus.failed
    assert strict.value == pytest.approx(np.quantile(truth["itl"], 0.95, method="inverted_cdf"), abs=1e-5)


def test_tokens_per_second(tmp_path: Path) -> None:
    ctx, truth = _run(tmp_path)
    served = ~truth["failed"]
    rates = truth["tokens"][served] / truth["latency"][served]
    per_request = grade_item(ctx, _item("request_tokens_per_s", ">=", 5.0), {})
    assert per_request.value == pytest.approx(np.quantile(rates, 0.05, method="inverted_cdf"), rel=1e-4)
    assert per_request.bound <= per_request.value
    assert per_request.status == (ItemStatus.passed if per_request.bound >= 5 else ItemStatus.no_data)
    total = grade_item(ctx, _item("total_tokens_per_s", ">=", 1.0), {})
    assert total.value == pytest.approx(truth["tokens"][served].sum() / (N * 0.1), rel=1e-6)


def test_goodput_counts_requests_meeting_every_slo_at_once(tmp_path: Path) -> None:
    ctx, truth = _run(tmp_path)
    good = ~truth["failed"] & (truth["ttft"] <= 0.8) & (truth["itl"] <= 0.05) & (truth["latency"] <= 2.5)
    result = grade_item(ctx, _item("goodput", ">=", 0.9, ttft_s=0.8, itl_s=0.05, e2e_s=2.5), {})
    assert result.value == pytest.approx(good.mean(), abs=1e-9)
    assert result.status == ItemStatus.failed  # well under 90%
    loose = grade_item(ctx, _item("goodput", ">=", 0.9, ttft_s=5, itl_s=1, e2e_s=10), {})
    assert loose.value == pytest.approx(1 - truth["failed"].mean())  # only the failures miss
    assert loose.status == ItemStatus.passed
