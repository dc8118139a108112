"""The breaker seen from the wire: upstream calls against cache misses, second by second."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.grade.checks.breaker import View, _disagreement, behaviour_view
from harness.schemas.faults import UpstreamCalls
from harness.schemas.timeline import Phase

T0 = 1_000_000.0
FAULT = Phase(name="fault", start=T0, end=T0 + 20)
RECOVERY = Phase(name="recovery", start=T0 + 20, end=T0 + 40)


def _requests(rate: int, latency: float, cached_every: int = 0) -> pd.DataFrame:
    starts = T0 + np.arange(40 * rate) / rate
    cached = (np.arange(len(starts)) % cached_every == 0) if cached_every else np.zeros(len(starts), bool)
    return pd.DataFrame({"intended_start": starts, "start": starts, "latency": latency, "status": 200,
                         "cached": cached, "degraded": ~cached})


def _calls(frame: pd.DataFrame, keep) -> UpstreamCalls:  # noqa: ANN001 - a predicate on start times
    misses = frame.loc[~frame["cached"], "start"].to_numpy()
    return UpstreamCalls(proxy_url="http://127.0.0.1:1", llm_calls=[float(t) for t in misses if keep(t)])


def test_calls_falling_to_probes_then_following_misses_is_an_open_then_closed_breaker():
    frame = _requests(20, 0.05, cached_every=4)  # a quarter hit the cache and never reach the LLM
    probes = {T0 + s for s in range(4, 20, 4)}
    calls = _calls(frame, lambda t: t < T0 + 2 or t >= T0 + 23 or any(abs(t - p) < 0.01 for p in probes))
    view, evidence = behaviour_view(frame, calls, FAULT, RECOVERY, answer_within_s=3)
    assert view.opened and view.opened_after_s == 2
    # Calls follow misses again from 3 s after the fault; a 5 s window reaches 80% a second earlier.
    assert 2 <= view.closed_after_s <= 3
    assert evidence["min_share_during_fault"] <= 0.1


def test_an_agent_that_keeps_calling_never_opens():
    frame = _requests(20, 0.05)
    view, _ = behaviour_view(frame, _calls(frame, lambda t: True), FAULT, RECOVERY, answer_within_s=3)
    assert not view.opened and view.closed_after_s == 0


def test_calls_that_stop_because_the_agent_is_stuck_are_no_breaker():
    frame = _requests(20, 12.0)  # answers take 12 s: nothing comes back fast
    view, _ = behaviour_view(frame, _calls(frame, lambda t: t < T0 + 2), FAULT, RECOVERY, answer_within_s=3)
    assert not view.opened and view.closed_after_s is None


def test_views_that_disagree_are_a_finding():
    assert _disagreement(View(True, 2, 3), View(False, None, None), 20) is not None
    assert _disagreement(View(True, 2, None), View(True, 1, 6), 20) is not None
    assert _disagreement(View(True, 2, 3), View(True, 1, 6), 20) is None
    # A gauge that closes in the last seconds of the recovery cannot be confirmed by calls, nor denied.
    assert _disagreement(View(True, 2, None), View(True, 1, 19.8), 20) is None
