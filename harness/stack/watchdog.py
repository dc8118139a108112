"""The stack's watchdog: polls what a scenario depends on while it runs, so a death ends the scenario
within seconds, with its exit code and last log lines, instead of being found at grading minutes later.

Spawned processes are watched by their liveness (exit code and log tail come with a death); a
component the user runs is watched over HTTP, and named once when it stops answering.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

from harness.process import ManagedProcess
from harness.schemas.timeline import TARGET_COMPONENT, Incident, IncidentKind, ScenarioStop, StopCause

POLL_S = 1.0
# What the watchdog promises (a death named within 15 s): one poll interval plus one round of checks
# (each URL at most HTTP_TIMEOUT_S) lies well inside it. Incidents carry the last poll that found the
# component well (``ok_at``), so a run shows from its own timestamps that the promise held.
DETECT_WITHIN_S = 15.0
# Nothing listening: a few polls in a row rule out a blip.
REFUSED_AFTER_S = 3.0
# Timeouts: a service under load may answer slowly; one that answers nothing for this long is gone.
SILENT_AFTER_S = 15.0
HTTP_TIMEOUT_S = 2.0
LOG_LINES = 20


@dataclass
class Watched:
    """One component: a process loadgate started, or a URL that answers while it is up."""

    component: str
    process: ManagedProcess | None = None
    url: str | None = None
    failing_since: float | None = None  # first failed poll of the current silence
    ok_at: float | None = None  # start of the last poll that found it well
    refused_only: bool = False  # every failed poll so far was "connection refused"
    reported: bool = False


class Watchdog:
    """``with Watchdog(stack.watched()) as dog: ... dog.stop_request()`` — polls in a background thread."""

    def __init__(self, watched: list[Watched], *, poll_s: float = POLL_S,
                 say: Callable[[str], None] | None = None) -> None:
        self.watched = watched
        self.poll_s = poll_s
        self.say = say
        self.scenario: str | None = None  # the scenario running now, named in incidents
        self._incidents: list[Incident] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stack-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=HTTP_TIMEOUT_S + self.poll_s + 1)

    @property
    def incidents(self) -> list[Incident]:
        with self._lock:
            return list(self._incidents)

    def abort_reason(self) -> str | None:
        """Why the running scenario must stop now, or None while the stack is whole."""
        incidents = self.incidents
        return incidents[0].summary if incidents else None

    def stop_request(self) -> ScenarioStop | None:
        """The running scenario's stop, or None while the stack is whole: the first incident, and
        whose failure it is (the target's is the service failing; any other is the run's own)."""
        incidents = self.incidents
        if not incidents:
            return None
        first = incidents[0]
        cause = StopCause.service if first.component == TARGET_COMPONENT else StopCause.harness
        return ScenarioStop(cause=cause, reason=first.summary, at=first.detected_at, since=first.at)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()

    def poll(self) -> None:
        """Check every component once (the thread calls this every ``poll_s``)."""
        for watched in self.watched:
            if watched.reported:
                continue
            incident = _check_process(watched) if watched.process else _check_url(watched)
            if incident is None:
                continue
            watched.reported = True
            incident.scenario = self.scenario
            with self._lock:
                self._incidents.append(incident)
            if self.say:
                self.say(f"watchdog: {incident.summary}")


def _check_process(watched: Watched) -> Incident | None:
    proc = watched.process
    assert proc is not None
    polled = time.time()  # before the check: a process seen alive was alive at this instant
    if proc.alive():
        watched.ok_at = polled
        return None
    now = time.time()
    return Incident(component=watched.component, kind=IncidentKind.died, at=now, detected_at=now,
                    ok_at=watched.ok_at, exit_code=proc.exit_code,
                    log_tail=f"{proc.log_path}:\n{proc.log_tail(LOG_LINES)}")


def _check_url(watched: Watched) -> Incident | None:
    polled = time.time()
    try:
        httpx.get(watched.url or "", timeout=HTTP_TIMEOUT_S)
    except (httpx.ConnectError, httpx.RemoteProtocolError):
        failure, refused = "refused", True
    except httpx.HTTPError as exc:
        failure, refused = type(exc).__name__, False
    else:
        watched.failing_since, watched.ok_at = None, polled  # any answer, even a 5xx, is a live service
        return None
    now = time.time()  # when the failure was seen: a poll sent just before a death still fails after it
    if watched.failing_since is None:
        watched.failing_since, watched.refused_only = now, refused
    watched.refused_only = watched.refused_only and refused
    silent_s = now - watched.failing_since
    if silent_s < (REFUSED_AFTER_S if watched.refused_only else SILENT_AFTER_S):
        return None
    return Incident(component=watched.component, kind=IncidentKind.no_answer, at=watched.failing_since,
                    detected_at=now, ok_at=watched.ok_at,
                    detail=f"{watched.url} {failure} for {silent_s:.0f} s")
