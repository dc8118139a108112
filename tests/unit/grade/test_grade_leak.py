"""The whole-run leak estimate on RSS series recorded from the planted service (tests/fixtures/rss,
recorded by tests/fixtures/rss/record.py: 50 req/s, two 35 s bursts of load with a 10 s idle gap).

A bounded cache filling and a service keeping bytes for every request look alike against time; against
requests served, after the warm-up, only the leak keeps growing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.grade.leak import aligned, blocks_of, leak_per_request

RSS = Path(__file__).resolve().parents[2] / "fixtures" / "rss"
KB = 1024.0
LIMIT_KB = 0.5  # the shipped checklist's memory_per_request threshold


def _series(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    samples = json.loads((RSS / f"{name}.json").read_text())["samples"]
    return (np.array([s["t"] for s in samples]), np.array([s["served"] for s in samples], dtype=float),
            np.array([s["rss"] for s in samples], dtype=float))


def test_a_healthy_service_retains_nothing_per_request() -> None:
    _, served, rss = _series("healthy")
    leak = leak_per_request(served, rss)
    assert leak.high / KB < LIMIT_KB, leak
    assert leak.warmup_requests == pytest.approx(0.3 * served[-1], rel=0.05)
    assert leak.requests + leak.warmup_requests == pytest.approx(served[-1] - served[0], rel=0.02)


@pytest.mark.parametrize(("name", "kb"), [("leak_1kb", 1), ("leak_2kb", 2), ("leak_4kb", 4)])
def test_a_planted_leak_is_measured_near_what_it_keeps(name: str, kb: float) -> None:
    _, served, rss = _series(name)
    leak = leak_per_request(served, rss)
    assert leak.per_request / KB > LIMIT_KB  # the item fails on its estimate
    # What the planted service keeps per request, plus a little for the list that holds it.
    assert kb * 0.8 <= leak.per_request / KB <= kb * 1.3, leak
    assert leak.low <= leak.per_request <= leak.high


def test_a_bounded_cache_filling_in_the_warm_up_is_not_a_leak() -> None:
    # 600 entries of 4 KB: 2.4 MB that fill in the first 600 requests, then stay.
    t, served, rss = _series("cache_4kb_x600")
    filling = served - served[0] <= 600
    while_filling = leak_per_request(served[filling], rss[filling], warmup_share=0.0)
    after_warmup = leak_per_request(served, rss)
    assert while_filling.per_request / KB > LIMIT_KB, "while it fills, the cache looks like a leak"
    assert after_warmup.warmup_requests > 600 and after_warmup.high / KB < LIMIT_KB, after_warmup
    # Against time the first burst alone shows steep growth too: only requests served tell them apart.
    first_burst = t < t[0] + 30
    per_s = np.polyfit(t[first_burst], rss[first_burst], 1)[0]
    assert per_s * 3600 / 1e6 > 100, "the cache grows by more than 100 MB/h while it fills"


def test_idle_time_adds_no_requests_and_moves_nothing() -> None:
    _, served, rss = _series("leak_4kb")
    idle = np.concatenate([[False], np.diff(served) == 0])
    assert idle.sum() >= 5, "the recording has an idle gap between its bursts"
    # The same samples without the gap: the estimate is about requests, not seconds.
    with_gap = leak_per_request(served, rss)
    without = leak_per_request(served[~idle], rss[~idle])
    assert abs(with_gap.per_request - without.per_request) / without.per_request < 0.1


def test_too_little_to_fit_and_a_reset_counter_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        leak_per_request(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="restarted"):
        leak_per_request(np.array([0.0, 10, 20, 5, 30]), np.ones(5))
    with pytest.raises(ValueError, match="distinct times"):
        leak_per_request(np.array([0.0, 0, 0, 0, 100]), np.ones(5))


def test_aligned_keeps_the_instants_both_series_have() -> None:
    t, a, b = aligned([(1.0, 10.0), (2.0, 20.0), (3.0, 30.0)], [(2.0, 200.0), (3.0, 300.0), (4.0, 400.0)])
    assert t.tolist() == [2.0, 3.0] and a.tolist() == [20.0, 30.0] and b.tolist() == [200.0, 300.0]


def test_blocks_are_the_scenarios_windows_and_samples_between_them_count_nowhere() -> None:
    times = np.array([0.0, 1, 2, 3, 4, 5, 6])
    assert blocks_of(times, [(0.0, 2.0), (4.0, 6.0)]).tolist() == [0, 0, 0, -1, 1, 1, 1]


def test_a_step_between_scenarios_is_not_retained_per_request() -> None:
    # The 4 KB leak's recording with 20 MB added to the second burst, as a new kind of load's
    # high-water step would: one block's interval takes the step in (the median resists it), so
    # the item could not pass a healthy service; two blocks never compare across it.
    t, served, rss = _series("leak_4kb")
    idle = np.concatenate([[False], np.diff(served) == 0])
    second = np.cumsum(idle) > 0
    stepped = rss + np.where(second, 20e6, 0.0)
    blocks = np.where(idle, -1, second.astype(int))
    one = leak_per_request(served, stepped)
    two = leak_per_request(served, stepped, blocks=blocks, names=["first", "second"])
    assert one.high / KB > 10, one
    assert 3.5 <= two.low / KB <= two.per_request / KB <= two.high / KB <= 4.5, two
    assert [b.name for b in two.blocks] == ["first", "second"]
