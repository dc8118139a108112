"""What broke in the stack during the load, and what it means for the verdict.

The target dying, restarting or falling silent is the service failing under load: NO-GO, named.
Prometheus or the load generator breaking is the run failing: INVALID, named. The watchdog records
deaths and silences in the timeline; a restart of a target loadgate did not start (or of one worker
of a spawned one) shows only as its request counter resetting, which is read here.
"""

from __future__ import annotations

import time

from harness.errors import GradeError
from harness.grade.prom import Prom
from harness.grade.queries import PromQL
from harness.schemas.timeline import TARGET_COMPONENT, Incident, IncidentKind, ScenarioStatus, Timeline


def restarts(timeline: Timeline, prom: Prom, q: PromQL) -> list[Incident]:
    """A reset of the service's request counter inside a scenario: the service restarted under load.
    A service profile without a request counter shows none."""
    found: list[Incident] = []
    counter = q.metrics.requests
    for run in timeline.scenarios if counter is not None else []:
        if run.status == ScenarioStatus.failed or not run.end or run.end <= run.start:
            continue
        query = q.resets(counter, run.start, run.end)
        try:
            count = prom.scalar(query, run.end)
        except GradeError:
            continue  # Prometheus failing is reported on its own
        if count:
            found.append(Incident(
                component=TARGET_COMPONENT, kind=IncidentKind.restarted, at=run.start,
                detected_at=time.time(), scenario=run.name,
                detail=f"{counter.name} reset {count:.0f} time(s) in the scenario (`{query}`)"))
    return found


def stack_findings(timeline: Timeline | None, prom: Prom | None, q: PromQL) -> tuple[list[str], list[str]]:
    """(reasons for NO-GO, reasons the run is INVALID), one line per incident."""
    if timeline is None:
        return [], []
    incidents = list(timeline.incidents)
    if prom is not None:
        dead_target = any(i.component == TARGET_COMPONENT for i in incidents)
        incidents += [] if dead_target else restarts(timeline, prom, q)
    no_go = [i.summary for i in incidents if i.component == TARGET_COMPONENT]
    invalid = [i.summary for i in incidents if i.component != TARGET_COMPONENT]
    return no_go, invalid
