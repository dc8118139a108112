"""memory_per_request's calibration, replayed: the RSS and served-request series of the quick gates
run by hand on the bundled service (tests/fixtures/rss/cal_*.json: healthy, and planted leaks of
1, 2 and 4 KB per request through AGENT_LEAK_KB_PER_REQUEST), judged with the shipped checklist's
limit and params. The README's table comes from the same recordings (calibration.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.fixtures.rss.calibration import KB, GateRecording, recordings, shipped

RUNS = recordings()
LIMIT_KB, PARAMS = shipped()


def _by_name(kind: str) -> list[GateRecording]:
    return [r for r in RUNS if (r.leak_kb == 0) == (kind == "healthy")]


def test_the_calibration_backs_the_readme_claim() -> None:
    # "1 KB per request caught 3 of 3 with 0 of 5 false NO-GO": the 5 healthy runs and 3 of
    # each planted size.
    counts = Counter(r.leak_kb for r in RUNS)
    assert counts[0] >= 5 and all(counts[kb] >= 3 for kb in (1, 2, 4)), counts


@pytest.mark.parametrize("rec", _by_name("healthy"), ids=lambda r: r.name)
def test_a_healthy_quick_gate_passes(rec: GateRecording) -> None:
    leak = rec.estimate(PARAMS)
    assert leak.high / KB < LIMIT_KB, leak  # passes on its upper bound, not only its estimate
    # agent_sessions serves too few requests after its warm-up to have a slope of its own.
    assert [b.name for b in leak.blocks] == ["target_2x", "concurrency_1000", "llm_slowdown"]


@pytest.mark.parametrize("rec", _by_name("leak"), ids=lambda r: r.name)
def test_a_planted_leak_fails_near_what_it_keeps(rec: GateRecording) -> None:
    leak = rec.estimate(PARAMS)
    assert leak.per_request / KB >= LIMIT_KB, leak  # fails on its estimate
    # Never reads less than most of what the service keeps; its interval reaches what it keeps plus
    # what the healthy service itself retains (< 0.5). One 4 KB run read 5.6 (interval 4.1-7.1): the
    # estimate alone can overshoot on a busy machine, its interval did not miss.
    assert leak.per_request / KB >= 0.85 * rec.leak_kb, leak
    assert leak.low / KB <= 1.1 * rec.leak_kb + 0.5, leak
    assert leak.low <= leak.per_request <= leak.high


def test_one_block_over_the_whole_run_would_call_healthy_gates_leaking() -> None:
    # Why the scenarios are blocks: each new kind of load steps RSS up once (1000 connections,
    # fresh prompts reaching the model), which against the run's requests reads as KB per request.
    whole = [r.estimate(PARAMS, by_scenario=False) for r in _by_name("healthy")]
    assert all(w.per_request / KB > LIMIT_KB for w in whole), whole
