"""The arrival generator alone: stated burstiness, ramps, trace replay at the file's timestamps."""

from __future__ import annotations

import json
import random
import statistics
from datetime import datetime
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.load.arrivals import unit_gaps
from harness.load.plan import LoadPlan, PhaseSpec, arrivals, build_plan, resolve
from harness.load.trace import load_trace
from harness.schemas import ScenarioPlan

SAMPLE = Path(__file__).resolve().parents[3] / "scenarios" / "data" / "trace_sample.csv"


def _gaps(plan: LoadPlan, seed: int) -> list[float]:
    times = [a.t for a in arrivals(plan, random.Random(seed))]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


@pytest.mark.parametrize("cv", [0.5, 1.5, 2.0])
def test_gamma_arrivals_have_the_stated_coefficient_of_variation(cv: float) -> None:
    plan = LoadPlan(scenario="x", arrival="gamma", arrival_cv=cv, t0=1000.0,
                    phases=[PhaseSpec(name="steady", duration_s=300, rate_rps=100)])
    gaps = _gaps(plan, seed=18)
    assert len(gaps) >= 10_000
    measured = statistics.pstdev(gaps) / statistics.fmean(gaps)
    assert measured == pytest.approx(cv, rel=0.05)
    assert len(gaps) / 300 == pytest.approx(100, rel=0.05)  # the rate is kept whatever the burstiness


def test_poisson_and_constant_keep_their_variation() -> None:
    phases = [PhaseSpec(name="steady", duration_s=200, rate_rps=60)]
    poisson = _gaps(LoadPlan(scenario="x", arrival="poisson", t0=0.0, phases=phases), 1)
    constant = _gaps(LoadPlan(scenario="x", arrival="constant", t0=0.0, phases=phases), 1)
    assert statistics.pstdev(poisson) / statistics.fmean(poisson) == pytest.approx(1.0, rel=0.05)
    assert max(constant) - min(constant) < 1e-9 and statistics.fmean(constant) == pytest.approx(1 / 60)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="gamma"):
        unit_gaps("weibull", random.Random(0))


def test_a_ramp_rises_linearly() -> None:
    plan = LoadPlan(scenario="x", arrival="poisson", t0=0.0,
                    phases=[PhaseSpec(name="ramp", duration_s=100, rate_rps=0, rate_end_rps=200)])
    times = [a.t for a in arrivals(plan, random.Random(3))]
    # Rate 2t: 100 * 200 / 2 = 10,000 arrivals, a quarter of them in the first half.
    assert len(times) == pytest.approx(10_000, rel=0.03)
    first_half = sum(t < 50 for t in times)
    assert first_half / len(times) == pytest.approx(0.25, rel=0.05)
    assert all(0 <= t < 100 for t in times)


def test_the_checklist_ramp_goes_from_the_warmup_rate_to_the_steady_rate() -> None:
    _, build, plan = resolve("target_2x", ScenarioPlan(warmup_s=5, ramp_s=10, steady_s=10, rate_x=2),
                             lambda: pytest.fail("not read"))
    phases = build_plan("target_2x", plan, 25, build).phases
    assert [(p.name, p.rate_rps, p.rate_end_rps) for p in phases] == [
        ("warmup", 25, None), ("ramp", 25, 50), ("steady", 50, None)]


def _azure_offsets(path: Path) -> list[float]:
    """Offsets read independently: the 7-decimal times as datetimes (the 7th decimal is 0 here)."""
    lines = path.read_text().splitlines()[1:]
    stamps = sorted(datetime.fromisoformat(line.split(",")[0][:26]) for line in lines)
    return [(s - stamps[0]).total_seconds() for s in stamps]


def test_trace_replay_intends_each_start_at_the_files_timestamp() -> None:
    rows = load_trace(SAMPLE)
    expected = _azure_offsets(SAMPLE)
    assert len(rows) == len(expected) > 100
    assert [r.offset_s for r in rows] == pytest.approx(expected, abs=1e-9)
    plan = LoadPlan(scenario="trace_replay", trace=rows, t0=1_764_000_000.25,
                    phases=[PhaseSpec(name="replay", duration_s=rows[-1].offset_s + 0.001)])
    got = [a.t for a in arrivals(plan, random.Random(0))]
    assert got == [1_764_000_000.25 + r.offset_s for r in rows]
    lengths = [(a.prompt_tokens, a.output_tokens) for a in arrivals(plan, random.Random())]
    assert all(p is not None and o is not None for p, o in lengths)


def test_workers_share_a_trace_without_overlap() -> None:
    rows = load_trace(SAMPLE)
    plan = LoadPlan(scenario="trace_replay", trace=rows, t0=0.0, workers=3,
                    phases=[PhaseSpec(name="replay", duration_s=rows[-1].offset_s + 0.001)])
    shares = [[a.t for a in arrivals(plan, random.Random(), worker)] for worker in range(3)]
    assert sorted(t for share in shares for t in share) == [r.offset_s for r in rows]


def test_jsonl_trace_with_seconds_is_sorted_and_exact(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    records = [{"timestamp": "1700000000.300000001", "output_tokens": 5},
               {"timestamp": "1700000000.1"}, {"timestamp": 1700000002}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    rows = load_trace(path)
    assert [r.offset_s for r in rows] == [0.0, 0.200000001, 1.9]
    assert rows[1].output_tokens == 5 and rows[0].prompt_tokens is None


@pytest.mark.parametrize(("text", "match"), [
    ("timestamp,prompt_tokens\n1,2\nyesterday,3\n", ":3: 'yesterday' is not a timestamp"),
    ("when\n1\n", ":2: no timestamp"),
    ("timestamp,output_tokens\n1,-4\n", "negative"),
    ("timestamp\n", "no requests"),
])
def test_a_bad_trace_names_the_line(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_trace(path)


def test_a_missing_trace_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the trace"):
        load_trace(tmp_path / "none.csv")
