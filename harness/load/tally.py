"""What one load-generator process counts of its finished requests, and how tallies cross processes.

Each process that sends requests keeps a ``Tally``: per-phase HdrHistograms and counts
(``PhaseAccumulator``), per-(phase, endpoint) latency histograms and status counts for the exporter,
the histogram of the current interval for the live window, and the per-session state. Every flush it
hands over ``take()``: the encoded *increments* since the last one (HdrHistogram's own V2 encoding:
base64, compressed), and starts afresh; the master ``merge``s each into one cumulative tally.
Counts are exact; a merged histogram is the histogram of the pooled values (same bins, counts added).
No Locust import: tested without a load test.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from harness.load.session_stats import SessionAccumulator, SessionState
from harness.load.stats import PhaseAccumulator, new_histogram, record
from harness.schemas.outcome import RequestOutcome
from harness.schemas.requests import RequestLogWriter, RequestRow

_PHASE_HISTOGRAMS = ("latency", "uncorrected", "ttft", "itl")
_PHASE_COUNTS = ("late", "dropped", "cached", "degraded")


Packed = bytes | str | HdrHistogram  # encoded for a message to another process, the object itself within one


def _pack(hist: HdrHistogram, encode: bool) -> Packed:
    return hist.encode() if encode else hist


def _unpack(packed: Packed) -> HdrHistogram:
    return packed if isinstance(packed, HdrHistogram) else HdrHistogram.decode(packed)


def _encoded(hist: HdrHistogram, encode: bool) -> Packed | None:
    return _pack(hist, encode) if hist.get_total_count() else None


def _add(hist: HdrHistogram, packed: Packed | None) -> None:
    if packed:
        hist.add(_unpack(packed))


@dataclass
class Tally:
    late_s: float
    phases: dict[str, PhaseAccumulator] = field(default_factory=dict)
    endpoints: dict[tuple[str, str], HdrHistogram] = field(default_factory=dict)
    statuses: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # phase, endpoint, status
    # The live window: per second in which requests ended, their latencies and errors.
    seconds: dict[int, tuple[HdrHistogram, Counter[str]]] = field(default_factory=dict)
    sessions: SessionAccumulator = field(default_factory=SessionAccumulator)
    touched: set[str] = field(default_factory=set)  # sessions changed since the last take

    def phase(self, name: str) -> PhaseAccumulator:
        if name not in self.phases:
            self.phases[name] = PhaseAccumulator(name, late_s=self.late_s)
        return self.phases[name]

    def second(self, t: int) -> tuple[HdrHistogram, Counter[str]]:
        if t not in self.seconds:
            self.seconds[t] = (new_histogram(), Counter())
        return self.seconds[t]

    def forget_before(self, t: float) -> None:
        """Drop the live window's seconds before ``t`` (the master keeps only its window)."""
        for second in [s for s in self.seconds if s < t]:
            del self.seconds[second]

    def add(self, row: RequestRow) -> None:
        outcome = RequestOutcome(row.outcome)
        self.phase(row.phase).add(intended=row.intended_start, start=row.start, end=row.end,
                                  status=row.status, outcome=outcome, cached=row.cached,
                                  degraded=row.degraded, ttft=row.ttft, itl=row.itl)
        key = (row.phase, row.endpoint)
        if key not in self.endpoints:
            self.endpoints[key] = new_histogram()
        record(self.endpoints[key], row.latency)
        self.statuses[(row.phase, row.endpoint, str(row.status))] += 1
        failed = outcome == RequestOutcome.error
        hist, counts = self.second(int(row.end))
        record(hist, row.latency)
        counts["errors"] += failed
        if row.session:
            self.sessions.add(session=row.session, turn=row.turn or 1, planned=row.turns or 1,
                              intended=row.intended_start, end=row.end, failed=failed, tools=row.tools,
                              cancelled=row.cancelled)
            self.touched.add(row.session)

    def add_dropped(self, dropped: dict[str, int]) -> None:
        for phase, n in dropped.items():
            self.phase(phase).dropped += n

    def take(self, encode: bool = True) -> dict[str, Any]:
        """The increments since the last take, histograms encoded for a message (``encode``: False when
        the message stays in this process, a lone local runner's); this tally starts afresh."""
        out = {
            "phases": {name: _phase_message(acc, encode) for name, acc in self.phases.items()},
            "endpoints": [[p, e, _pack(h, encode)] for (p, e), h in self.endpoints.items()],
            "statuses": [[*key, n] for key, n in self.statuses.items()],
            "seconds": [[t, _pack(h, encode), c["errors"]] for t, (h, c) in self.seconds.items()],
            "sessions": {s: astuple(self.sessions.sessions[s]) for s in self.touched},
            "by_turn": {str(t): _pack(h, encode) for t, h in self.sessions.by_turn.items()},
            "tools": [[*key, n] for key, n in self.sessions.tools.items()],
            "cancelled": self.sessions.cancelled,
        }
        kept = self.sessions.sessions  # a session's state is whole, not an increment: keep it
        self.phases, self.endpoints, self.statuses = {}, {}, Counter()
        self.seconds = {}
        self.sessions, self.touched = SessionAccumulator(sessions=kept), set()
        return out

    def merge(self, data: dict[str, Any]) -> None:
        """Add one process's increments (``take()``'s message) into this cumulative tally."""
        for name, msg in data["phases"].items():
            acc = self.phase(name)
            for hist in _PHASE_HISTOGRAMS:
                _add(getattr(acc, hist), msg[hist])
            for count in _PHASE_COUNTS:
                setattr(acc, count, getattr(acc, count) + msg[count])
            acc.status.update(msg["status"])
            acc.outcomes.update({RequestOutcome(k): n for k, n in msg["outcomes"].items()})
        for phase, endpoint, packed in data["endpoints"]:
            self.endpoints.setdefault((phase, endpoint), new_histogram()).add(_unpack(packed))
        for phase, endpoint, status, n in data["statuses"]:
            self.statuses[(phase, endpoint, status)] += n
        for t, packed, errors in data["seconds"]:
            hist, counts = self.second(t)
            hist.add(_unpack(packed))
            counts["errors"] += errors
        for session, state in data["sessions"].items():
            self.sessions.sessions[session] = SessionState(*state)
        for turn, packed in data["by_turn"].items():
            self.sessions.by_turn.setdefault(int(turn), new_histogram()).add(_unpack(packed))
        for name, status, n in data["tools"]:
            self.sessions.tools[(name, status)] += n
        self.sessions.cancelled += data["cancelled"]

    @property
    def requests(self) -> int:
        return sum(acc.requests for acc in self.phases.values())

    @property
    def errors(self) -> int:
        return sum(acc.outcomes[RequestOutcome.error] for acc in self.phases.values())

    @property
    def dropped(self) -> int:
        return sum(acc.dropped for acc in self.phases.values())

    def overall(self) -> HdrHistogram:
        """Every phase's latency histogram added into one."""
        hist = new_histogram()
        for acc in self.phases.values():
            hist.add(acc.latency)
        return hist


def _phase_message(acc: PhaseAccumulator, encode: bool) -> dict[str, Any]:
    return {
        **{hist: _encoded(getattr(acc, hist), encode) for hist in _PHASE_HISTOGRAMS},
        **{count: getattr(acc, count) for count in _PHASE_COUNTS},
        "status": dict(acc.status),
        "outcomes": {k.value: n for k, n in acc.outcomes.items()},
    }


class Keeper:
    """One sending process's finished requests: its own request log on local disk, and its tally.

    ``keep`` only queues the row; the queue is written and counted in one go every ``BATCH`` rows and
    whenever the tally or the log is read (each flush): the same work, done in small batches instead of
    after every request, each short enough (well under a millisecond) not to hold up other requests.
    """

    BATCH = 32

    def __init__(self, log_path: Path, late_s: float) -> None:
        self._log = RequestLogWriter(log_path)
        self._tally = Tally(late_s)
        self._queued: list[RequestRow] = []

    def keep(self, row: RequestRow) -> None:
        self._queued.append(row)
        if len(self._queued) >= self.BATCH:
            self._drain()

    @property
    def closed(self) -> bool:
        return self._log.closed

    @property
    def tally(self) -> Tally:
        self._drain()
        return self._tally

    @property
    def log(self) -> RequestLogWriter:
        self._drain()
        return self._log

    def _drain(self) -> None:
        if self._queued:
            rows, self._queued = self._queued, []
            self._log.write_rows(rows)
            for row in rows:
                self._tally.add(row)
