"""Arrival schedules for the open model: constant, Poisson, gamma (bursty), linear ramps, trace replay.

Pure functions of a plan and a seeded ``random.Random``, so a schedule is reproducible and tested
without Locust. Every arrival is an *intended* start: latency is measured from it whatever the
generator manages, and a request that starts late is counted, never re-timed.

A rate process is drawn in operational time: unit-rate gaps (mean 1, the kind's coefficient of
variation) mapped through the inverse of the phase's cumulative rate. For a flat phase that is the
plain renewal process at that rate; for a ramp the same gaps stretch as the rate rises.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import NamedTuple

from harness.schemas.base import Contract

ARRIVAL_KINDS = ("constant", "poisson", "gamma")


class TraceRow(Contract):
    """One replayed request: seconds after the trace's first row, and its optional token lengths."""

    offset_s: float
    prompt_tokens: int | None = None
    output_tokens: int | None = None


class Arrival(NamedTuple):
    """One scheduled request: when it should start, in which phase, and a trace row's lengths."""

    t: float
    phase: object  # the plan's PhaseSpec (typed loosely: plan.py imports this module)
    prompt_tokens: int | None = None
    output_tokens: int | None = None


def unit_gaps(kind: str, rng: random.Random, cv: float = 1.0) -> Callable[[], float]:
    """Draws of a gap with mean 1: constant (CV 0), exponential (CV 1), gamma with the given CV.

    Gamma with shape k = 1/CV^2 and scale 1/k has mean 1 and CV exactly ``cv``; CV > 1 is burstier
    than Poisson (vLLM's ``burstiness`` is k), CV < 1 more regular.
    """
    if kind == "constant":
        return lambda: 1.0
    if kind == "poisson":
        return lambda: rng.expovariate(1.0)
    if kind == "gamma":
        shape = 1.0 / (cv * cv)
        return lambda: rng.gammavariate(shape, 1.0 / shape)
    raise ValueError(f"unknown arrival kind {kind!r}; valid: {', '.join(ARRIVAL_KINDS)}")


def _inverse_cumulative(rate0: float, rate1: float, duration: float) -> Callable[[float], float]:
    """t(L): the time at which a rate rising linearly from rate0 to rate1 has delivered L arrivals."""
    slope = (rate1 - rate0) / duration
    if abs(slope) < 1e-12:
        return lambda load: load / rate0
    # slope/2 t^2 + rate0 t = L, the root that starts at t = 0 (numerically stable form).
    return lambda load: 2 * load / (rate0 + math.sqrt(max(rate0 * rate0 + 2 * slope * load, 0.0)))


def phase_arrivals(
    start: float, end: float, duration: float, rate0: float, rate1: float, gap: Callable[[], float], *,
    constant: bool, rng: random.Random,
) -> Iterator[float]:
    """Intended starts in [start, end) for a rate going linearly from rate0 at ``start`` to rate1
    ``duration`` seconds later (per second); ``end`` may come earlier when the plan stops early.

    Constant arrivals begin at a random phase within the first gap (one fleet-wide schedule, split by
    ``arrivals`` among the workers).
    """
    if rate0 <= 0 and rate1 <= 0:
        return
    to_time = _inverse_cumulative(rate0, rate1, duration)
    load = rng.uniform(0, 1) if constant else gap()
    while True:
        t = start + to_time(load)
        if not t < end:
            return
        yield t
        load += gap()


def trace_arrivals(
    t0: float, rows: list[TraceRow], phase: object, worker: int, workers: int
) -> Iterator[Arrival]:
    """This worker's share of a trace (every ``workers``-th row), each at t0 + its offset exactly."""
    for row in rows[worker::workers]:
        yield Arrival(t0 + row.offset_s, phase, row.prompt_tokens, row.output_tokens)
