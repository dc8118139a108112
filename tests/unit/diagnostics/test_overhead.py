"""Diagnostics overhead, measured both ways in one run: alternate blocks, P99 on vs off."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from harness.diagnostics.overhead import estimate
from harness.diagnostics.recorder import DiagnosticsRecorder, DiagnosticsSettings
from harness.schemas.diagnostics import AB_FILE, DiagnosticsBlock
from harness.schemas.jsonl import read_jsonl


def blocks(n: int, length: float = 5.0) -> list[DiagnosticsBlock]:
    return [DiagnosticsBlock(label="s", start=k * length, end=(k + 1) * length, on=k % 2 == 0)
            for k in range(n)]


def traffic(slower_when_on: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.uniform(0, 80, 4000))
    latencies = rng.lognormal(np.log(0.2), 0.5, starts.size)
    on = (starts // 5).astype(int) % 2 == 0
    latencies[on] *= 1 + slower_when_on
    return starts, latencies


def test_a_real_cost_is_found_and_bounded() -> None:
    starts, latencies = traffic(0.2)
    got = estimate("s", blocks(16), starts, latencies, np.random.default_rng(0))
    assert got.blocks_on == got.blocks_off == 8
    assert got.requests_on + got.requests_off == starts.size
    assert got.added == pytest.approx(0.2, abs=0.08)
    assert got.added_ci is not None and got.added_ci[0] > 0.05
    assert "over the 5% budget with 95% confidence" in got.note


def test_no_cost_gives_an_interval_around_zero() -> None:
    starts, latencies = traffic(0.0)
    got = estimate("s", blocks(16), starts, latencies, np.random.default_rng(0))
    assert got.added_ci is not None and got.added_ci[0] < 0 < got.added_ci[1]
    assert abs(got.added) < 0.1


def test_too_few_blocks_is_said_not_guessed() -> None:
    starts, latencies = traffic(0.0)
    got = estimate("s", blocks(2), starts, latencies)
    assert got.added is None and "fewer than two blocks" in got.note


def test_recorder_pauses_its_probes_in_alternate_blocks(tmp_path: Path) -> None:
    recorder = DiagnosticsRecorder(tmp_path, settings=DiagnosticsSettings(ab_block_s=0.2, gpu=False))
    with recorder.heavy("target_2x"):
        # Times given, not slept to: a busy machine's late wake-ups cannot alias with the 0.2 s blocks.
        now = time.monotonic()
        seen = [recorder.probing(now + 0.05 + 0.1 * k) for k in range(8)]
        time.sleep(0.8)  # at least four blocks written (a late wake-up only adds blocks)
    assert recorder.probing(time.monotonic())  # outside a heavy phase: always probing
    written = read_jsonl(tmp_path / AB_FILE, DiagnosticsBlock)
    assert len(written) >= 4 and {b.label for b in written} == {"target_2x"}
    assert [b.on for b in written] == [(k % 2 == 0) == written[0].on for k in range(len(written))]
    assert all(b.end > b.start for b in written)
    assert True in seen and False in seen
