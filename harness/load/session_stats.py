"""Per-session statistics, fed one turn at a time by the recorder (no Locust): the outcome of each
conversation, its duration and turns, latency by turn index (HdrHistograms) and tool-call outcomes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from harness.load.stats import new_histogram, record, summary
from harness.schemas.timeline import SessionStats


@dataclass
class SessionState:
    """One conversation so far; it crosses processes whole (``astuple``), all turns on one worker."""

    planned: int
    first_intended: float
    last_end: float
    answered: int = 0
    failed: bool = False


@dataclass
class SessionAccumulator:
    sessions: dict[str, SessionState] = field(default_factory=dict)
    by_turn: dict[int, HdrHistogram] = field(default_factory=dict)
    tools: Counter[tuple[str, str]] = field(default_factory=Counter)
    cancelled: int = 0

    def add(self, *, session: str, turn: int, planned: int, intended: float, end: float, failed: bool,
            tools: str, cancelled: bool = False) -> None:
        state = self.sessions.get(session)
        if state is None:
            state = self.sessions[session] = SessionState(planned, intended, end)
        state.first_intended = min(state.first_intended, intended)
        state.last_end = max(state.last_end, end)
        state.answered += not failed
        state.failed |= failed
        self.cancelled += cancelled
        if turn not in self.by_turn:
            self.by_turn[turn] = new_histogram()
        record(self.by_turn[turn], end - intended)
        for call in filter(None, tools.split(";")):
            name, _, status = call.partition(":")
            self.tools[(name, status)] += 1

    def to_stats(self) -> SessionStats:
        finished = [s for s in self.sessions.values() if s.failed or s.answered >= s.planned]
        duration = new_histogram()
        for s in finished:
            record(duration, s.last_end - s.first_intended)
        tools: dict[str, dict[str, int]] = {}
        for (name, status), n in sorted(self.tools.items()):
            tools.setdefault(name, {})[status] = n
        return SessionStats(
            started=len(self.sessions),
            completed=sum(not s.failed for s in finished),
            failed=sum(s.failed for s in finished),
            unfinished=len(self.sessions) - len(finished),
            turns_per_session=dict(sorted(Counter(s.answered + s.failed for s in finished).items())),
            duration=summary(duration),
            latency_by_turn={turn: summary(h) for turn, h in sorted(self.by_turn.items())},
            tool_outcomes=tools,
            cancelled_turns=self.cancelled,
        )
