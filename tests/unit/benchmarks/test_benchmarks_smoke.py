"""Smoke tests of the benchmarks' measuring functions at tiny sizes: well-formed ratios, not speeds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.__main__ import Results, main
from benchmarks.core import Row, Sample, Variant, interleave
from benchmarks.hnsw import brute_force, build_index, recall, synthetic
from benchmarks.serialization import response_bodies
from benchmarks.serialization import run as run_serialization
from benchmarks.table import markdown
from benchmarks.verdict_time import nearest_rank, server_p99


def test_interleave_alternates_the_order_and_summarises_each_variant() -> None:
    calls: list[str] = []

    def variant(name: str, value: float) -> Variant:
        return Variant(name, lambda: calls.append(name) or value)

    a, b = interleave([variant("a", 2.0), variant("b", 1.0)], reps=4)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert (a.label, a.n, a.median, b.median) == ("a", 4, 2.0, 1.0)


def test_sample_spread_brackets_the_median() -> None:
    s = Sample.of("x", "s", [5.0, 1.0, 3.0, 2.0, 4.0])
    assert s.min == 1.0 and s.max == 5.0 and s.median == 3.0
    assert s.min <= s.q1 <= s.median <= s.q3 <= s.max
    with pytest.raises(ValueError):
        Sample.of("empty", "s", [])


def test_serialization_rows_are_well_formed_ratios() -> None:
    rows = run_serialization(quick=True)
    assert [r.benchmark for r in rows] == ["orjson vs json (dumps)", "orjson vs json (loads)"]
    for row in rows:
        assert row.baseline.median > 0 and row.optimized.median > 0
        assert math.isclose(row.ratio, row.baseline.median / row.optimized.median)
        assert row.holds == (row.ratio >= 10)


def test_response_bodies_have_the_service_shape() -> None:
    body = response_bodies(1)[0]
    assert set(body) >= {"request_id", "answer", "sources", "cached", "degraded", "timings"}
    assert len(body["sources"]) == 3


def test_brute_force_is_exact_and_hnsw_recall_is_a_fraction() -> None:
    vectors = synthetic(600)
    query = vectors[17]
    top = brute_force(vectors, query, 10)
    assert top[0] == 17
    exact = np.argsort(-(vectors @ query))[:10]
    assert set(top.tolist()) == set(exact.tolist())
    index = build_index(vectors, ef=200)
    assert 0.9 <= recall(index, vectors, vectors[:20], 10) <= 1.0


def test_p99_from_an_access_log_counts_only_agent_requests_in_the_window(tmp_path) -> None:
    log = tmp_path / "access.log"
    rows = [{"ts": 100 + i, "route": "/v1/agent/run", "latency_ms": float(i + 1)} for i in range(100)]
    rows += [{"ts": 150, "route": "/healthz", "latency_ms": 9999.0},
             {"ts": 500, "route": "/v1/agent/run", "latency_ms": 9999.0}]
    log.write_text("\n".join(json.dumps(r) for r in rows))
    p99, n = server_p99(log, 100, 200)
    assert (p99, n) == (0.099, 100)
    assert nearest_rank([3.0, 1.0, 2.0], 0.5) == 2.0


def test_table_lists_every_row_with_its_verdict() -> None:
    s = Sample.of("base", "s", [0.002, 0.003])
    rows = [Row(benchmark="b1", size="n", baseline=s, optimized=s, ratio=1.0, ratio_text="1.0x", claim="5x",
                holds=False, note="why"),
            Row(benchmark="b2", size="n", baseline=s, optimized=s, ratio=1.0, ratio_text="1.0x")]
    text = markdown(rows, "header")
    assert "| b1 | n | base: **2.5 ms** (range 2 ms–3 ms, n=2)" in text
    assert "| 5x | **no** |" in text and "| - | – |" in text
    assert "- **b1** (n): why" in text


def test_command_writes_results_and_keeps_other_rows_when_run_with_only(tmp_path) -> None:
    s = Sample.of("x", "s", [1.0])
    old = Results(started=0, ended=1, quick=True, machine={}, elapsed_s={"hnsw": 1.0}, failures={},
                  rows=[Row(benchmark="kept", size="n", source="hnsw", baseline=s, optimized=s, ratio=1,
                            ratio_text="1x")])
    (tmp_path / "results.json").write_text(old.model_dump_json())
    assert main(["--only", "serialization", "--quick", "--out", str(tmp_path)]) == 0
    res = Results.model_validate_json((tmp_path / "results.json").read_text())
    assert [r.source for r in res.rows] == ["serialization", "serialization", "hnsw"]
    assert "orjson vs json (dumps)" in (tmp_path / "RESULTS.md").read_text()
