"""The rate search as a pure state machine: which arrival rate to measure next, and when to stop.

It starts at a throughput estimate (the seed) and probes *above* it as well as below: a sweep that
only ever measures rates up to its own throughput estimate lands low whenever the estimate is low.
Until both a passing and a failing rate are known it steps away from the seed geometrically, the
step growing (tolerance, 2x, 4x, ... up to doubling) so a poor seed costs few steps; then it bisects
the bracket [highest pass, lowest fail] until its relative width is within the tolerance.

The SLO's margin is taken to be monotone in the rate (more load, worse latency). A measurement that
contradicts that (a pass above a known fail) is kept in the history and noted, and the bracket stays
conservative: the lowest fail bounds it, and a fail at or below the highest pass lowers that pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RateSearch:
    seed: float
    tolerance: float = 0.05  # relative width of the final bracket: (fail - pass) / pass
    min_rate: float = 0.1
    max_rate: float = 10_000.0
    history: list[tuple[float, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _growth: float = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1), got {self.tolerance}")
        if not 0 < self.min_rate <= self.max_rate:
            raise ValueError(f"need 0 < min_rate <= max_rate, got {self.min_rate}, {self.max_rate}")
        self.seed = min(max(self.seed, self.min_rate), self.max_rate)
        self._growth = self.tolerance

    @property
    def last_pass(self) -> float | None:
        """The highest passing rate below every failing one (the conservative capacity)."""
        fail = self.first_fail
        passes = [r for r, ok in self.history if ok and (fail is None or r < fail)]
        return max(passes, default=None)

    @property
    def first_fail(self) -> float | None:
        return min((r for r, ok in self.history if not ok), default=None)

    @property
    def width(self) -> float | None:
        lo, hi = self.last_pass, self.first_fail
        return None if lo is None or hi is None else (hi - lo) / lo

    @property
    def converged(self) -> bool:
        width = self.width
        return width is not None and width <= self.tolerance + 1e-12

    def record(self, rate: float, passed: bool) -> None:
        fail = self.first_fail
        if passed and fail is not None and rate >= fail:
            self.notes.append(f"{rate:.3g} req/s passed above a failure at {fail:.3g} req/s "
                              f"(noise or a non-monotone target); the bracket keeps the failure")
        best = self.last_pass
        if not passed and best is not None and rate <= best:
            self.notes.append(f"{rate:.3g} req/s failed at or below a pass at {best:.3g} req/s; "
                              f"the bracket moves down to it")
        self.history.append((rate, passed))

    def next_rate(self) -> float | None:
        """The next rate to measure, or None when the search is over (converged or at a bound)."""
        if not self.history:
            return self.seed
        lo, hi = self.last_pass, self.first_fail
        if lo is not None and hi is not None:
            return None if self.converged else (lo + hi) / 2
        if hi is None:  # only passes so far: the capacity is above
            if lo >= self.max_rate:
                self.notes.append(f"passes at the highest rate allowed ({self.max_rate:g} req/s)")
                return None
            rate = min(lo * (1 + self._growth), self.max_rate)
        else:  # only failures: the capacity is below
            if hi <= self.min_rate:
                self.notes.append(f"fails at the lowest rate allowed ({self.min_rate:g} req/s)")
                return None
            rate = max(hi / (1 + self._growth), self.min_rate)
        self._growth = min(self._growth * 2, 1.0)
        return rate
