"""A scenario that ended early: whose failure stopped it, and what that means for its items.

A service that failed while a phase ran (it died, fell silent, or a blocker went hopeless) has shown
how it handles that phase's load or fault: the phase's items are graded from what was seen before the
stop, and the requests it left unanswered count against it. A run cut short by its own parts
(Prometheus, a load generator worker) has shown nothing about the service: those items stay no-data
and the run is INVALID, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.grade.context import GradeContext
from harness.schemas.timeline import ScenarioRun, ScenarioStop, StopCause

# Workers learn of a stop at the master's next broadcast (once a second) and may send until then.
BROADCAST_S = 1.0


@dataclass(frozen=True)
class Unanswered:
    """Requests still in flight when the load generator ended a scenario the service stopped."""

    stop: ScenarioStop
    count: int
    waited_s: float  # each had waited at least this long: from the stop to the generator's end

    @property
    def line(self) -> str:
        return (f"{self.count} requests sent before the scenario was stopped ({self.stop.reason}) were "
                f"still unanswered {self.waited_s:.0f} s later")


def _run(ctx: GradeContext, scenario: str | None) -> ScenarioRun | None:
    if ctx.timeline is None or scenario is None:
        return None
    try:
        return ctx.timeline.scenario(scenario)
    except KeyError:
        return None


def service_stop(ctx: GradeContext, scenario: str | None, phase: str | None) -> ScenarioStop | None:
    """The stop of ``scenario`` the service caused while ``phase`` ran; None for any other end."""
    run = _run(ctx, scenario)
    stop = run.stop if run is not None else None
    if stop is None or stop.cause != StopCause.service or stop.phase is None:
        return None
    return stop if phase is None or stop.phase == phase else None


def unanswered(ctx: GradeContext, scenario: str | None, phase: str | None) -> Unanswered | None:
    """What the service left unanswered when it stopped ``scenario`` in ``phase``; None if nothing."""
    stop = service_stop(ctx, scenario, phase)
    run = _run(ctx, scenario)
    if stop is None or run is None or run.end is None:
        return None
    count = int(run.params.get("in_flight_at_end") or 0)
    if count == 0:
        return None
    return Unanswered(stop, count, max(0.0, run.end - stop.at - BROADCAST_S))
