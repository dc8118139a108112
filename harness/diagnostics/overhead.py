"""What the diagnostics cost the service, measured inside the run itself.

In a heavy phase the recorder pauses every probe in alternate blocks (``ab_block_s``). Requests are
assigned to the block their intended start falls in; the service's P99 over the on blocks against the
off blocks, once the load has ramped up, is the overhead. Its interval is a block bootstrap (whole blocks are
resampled, because latency within a block is correlated: one queue builds up and drains), so it is as
wide as the run's own noise, and says so.
"""

from __future__ import annotations

import numpy as np

from harness.schemas.diagnostics import (
    AB_FILE,
    DiagnosticsBlock,
    DiagnosticsOverhead,
    OverheadEstimate,
)
from harness.schemas.jsonl import read_jsonl
from harness.schemas.requests import read_request_log
from harness.schemas.run import RunFolder

LATENCY = "latency_uncorrected"  # send to answer: the service's response time, not generator lateness
BUDGET = 0.05
RAMP_PHASES = ("warmup", "ramp")  # load still building up: not compared
RESAMPLES = 2000


def _p99(values: np.ndarray) -> float:
    return float(np.quantile(values, 0.99, method="inverted_cdf"))


def estimate(scenario: str, blocks: list[DiagnosticsBlock], starts: np.ndarray, latencies: np.ndarray,
             rng: np.random.Generator | None = None) -> OverheadEstimate:
    """Compare P99 of requests started in on blocks with those started in off blocks."""
    groups: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for block in blocks:
        inside = (starts >= block.start) & (starts < block.end)
        if inside.any():
            groups[block.on].append(latencies[inside])
    on, off = groups[True], groups[False]
    result = OverheadEstimate(scenario=scenario, blocks_on=len(on), blocks_off=len(off),
                              requests_on=sum(map(len, on)), requests_off=sum(map(len, off)),
                              p99_on_s=None, p99_off_s=None, added=None, added_ci=None)
    if len(on) < 2 or len(off) < 2:
        result.note = "fewer than two blocks with requests on each side: no comparison"
        return result
    p_on, p_off = _p99(np.concatenate(on)), _p99(np.concatenate(off))
    rng = rng or np.random.default_rng()
    ratios = np.empty(RESAMPLES)
    for i in range(RESAMPLES):
        pick_on = np.concatenate([on[j] for j in rng.integers(0, len(on), len(on))])
        pick_off = np.concatenate([off[j] for j in rng.integers(0, len(off), len(off))])
        ratios[i] = _p99(pick_on) / _p99(pick_off) - 1
    low, high = np.quantile(ratios, [0.025, 0.975])
    result.p99_on_s, result.p99_off_s = p_on, p_off
    result.added = p_on / p_off - 1
    result.added_ci = (float(low), float(high))
    if high < BUDGET:
        result.note = f"under the {BUDGET:.0%} budget with 95% confidence"
    elif low > BUDGET:
        result.note = f"over the {BUDGET:.0%} budget with 95% confidence"
    else:
        side = "under" if result.added < BUDGET else "over"
        result.note = (f"point estimate {side} the {BUDGET:.0%} budget; the interval, the run's own "
                       f"noise between blocks, does not settle it")
    return result


def measure_overhead(folder: RunFolder, rng: np.random.Generator | None = None) -> DiagnosticsOverhead | None:
    """Estimate per heavy scenario from ``ab_blocks.jsonl`` and the request logs; save ``overhead.json``.

    None when the run paused no probe (diagnostics always on, or no heavy phase ran).
    """
    blocks = read_jsonl(folder.diagnostics_dir / AB_FILE, DiagnosticsBlock)
    if not blocks:
        return None
    overhead = DiagnosticsOverhead(latency=f"{LATENCY} of successful requests after the "
                                           f"{' and '.join(RAMP_PHASES)} phases", budget=BUDGET)
    for scenario in dict.fromkeys(b.label for b in blocks):
        frame = read_request_log(folder.request_log(scenario))
        if frame is None:
            continue
        rows = frame[~frame["phase"].isin(RAMP_PHASES) & (frame["status"] == 200)]
        overhead.scenarios.append(estimate(
            scenario, [b for b in blocks if b.label == scenario],
            rows["intended_start"].to_numpy(dtype=float), rows[LATENCY].to_numpy(dtype=float), rng))
    overhead.save_file(folder.overhead)
    return overhead
