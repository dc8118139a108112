"""What every benchmark shares: interleaved timing, the summary of a sample, one result row."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field


class Sample(BaseModel):
    """Absolute measurements of one variant (seconds, bytes or req/s: ``unit`` says which)."""

    label: str
    unit: str
    n: int
    median: float
    q1: float
    q3: float
    min: float
    max: float

    @classmethod
    def of(cls, label: str, unit: str, values: Sequence[float]) -> Sample:
        vals = sorted(values)
        if not vals:
            raise ValueError(f"{label}: no measurements")
        if len(vals) >= 2:
            q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
        else:
            q1 = q3 = vals[0]
        return cls(
            label=label,
            unit=unit,
            n=len(vals),
            median=statistics.median(vals),
            q1=q1,
            q3=q3,
            min=vals[0],
            max=vals[-1],
        )

    def scaled(self, factor: float) -> Sample:
        return self.model_copy(
            update={k: getattr(self, k) * factor for k in ("median", "q1", "q3", "min", "max")}
        )


class Row(BaseModel):
    """One line of the results table: a ratio measured side by side, next to the article's claim."""

    benchmark: str
    size: str
    source: str = ""  # the benchmark module's name in BENCHMARKS, set by the runner
    baseline: Sample
    optimized: Sample
    # > 1 means the optimized variant is better (faster, more throughput, less memory), whatever the unit.
    ratio: float
    ratio_text: str
    claim: str = "-"
    holds: bool | None = None
    note: str = ""
    extra: dict[str, float | int | str | None] = Field(default_factory=dict)


def speedup(baseline: Sample, optimized: Sample) -> float:
    """For times: how many times faster the optimized median is."""
    return baseline.median / optimized.median if optimized.median > 0 else float("inf")


def gain(baseline: Sample, optimized: Sample) -> float:
    """For rates: how many times more the optimized median achieves."""
    return optimized.median / baseline.median if baseline.median > 0 else float("inf")


@dataclass
class Variant:
    label: str
    run: Callable[[], float]  # one repetition; returns its measurement (see ``clock`` and ``per_op``)


def interleave(variants: Sequence[Variant], reps: int, unit: str = "s") -> list[Sample]:
    """Runs the variants alternately (A B, B A, A B, ...) so drift on a shared machine hits both alike."""
    values: list[list[float]] = [[] for _ in variants]
    order = list(range(len(variants)))
    for rep in range(reps):
        for i in order if rep % 2 == 0 else reversed(order):
            values[i].append(variants[i].run())
    return [Sample.of(v.label, unit, vals) for v, vals in zip(variants, values, strict=True)]


def clock(fn: Callable[[], object]) -> Callable[[], float]:
    """A variant that times one call of ``fn`` (its result is dropped)."""

    def run() -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    return run


def per_op(fn: Callable[[], object], ops: int) -> Callable[[], float]:
    """A variant that times ``ops`` calls of ``fn`` and returns the seconds per call."""

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(ops):
            fn()
        return (time.perf_counter() - t0) / ops

    return run
