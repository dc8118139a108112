"""The master's conductor: once a second it broadcasts the plan, sets, renews and clears the phases'
faults, and takes a live sample; it ends the test once the plan has drained."""

from __future__ import annotations

import time
from typing import Any

import gevent
import gevent.lock
import psutil
from locust.runners import LocalRunner

from harness.load.faults import FaultDriver
from harness.load.locust_state import STATE
from harness.load.plan import PhaseSpec
from harness.load.recorder import STOP_FILE
from harness.load.shipping import collect

# Ticks come 1 ms apart at a phase edge and a set can outlast a tick: one fault call at a time, in
# the order the ticks asked, so a slow set is never doubled and never lands after its clear.
_FAULT_CALLS = gevent.lock.Semaphore()


def clear_fault(host: str, phase: str | None) -> None:
    STATE.fault_on = False
    at = time.time()
    result = FaultDriver.of(STATE.plan, host).clear(STATE.fault_urls)
    STATE.recorder.fault_events.append(
        {"at": at, "phase": phase, "fault": None, "result": FaultDriver.summary(result)})


def _set_fault(host: str, phase: PhaseSpec | None) -> None:
    """Set the phase's fault at its start, renew its lease every tick it lasts, clear it after."""
    with _FAULT_CALLS:
        _switch_fault(host, phase)


def _switch_fault(host: str, phase: PhaseSpec | None) -> None:
    rec = STATE.recorder
    if phase is None or phase.fault is None:
        if STATE.fault_on:
            clear_fault(host, phase.name if phase else None)
        return
    at = time.time()
    result = FaultDriver.of(STATE.plan, host).apply(phase.fault)
    if not STATE.fault_on:
        STATE.fault_on, STATE.fault_urls = True, sorted(result)
        rec.fault_events.append({"at": at, "phase": phase.name, "fault": phase.fault.model_dump(),
                                 "result": FaultDriver.summary(result)})
    elif set(result.values()) != {"200"}:
        rec.fault_events.append({"at": at, "phase": phase.name, "renewal": FaultDriver.summary(result)})


def conduct(runner: Any) -> None:
    """Once a second: broadcast the plan, switch faults at phase edges, take a live sample."""
    plan, rec = STATE.plan, STATE.recorder
    proc = psutil.Process()
    proc.cpu_percent(None)
    host = runner.environment.host or ""
    drain_until = None
    while True:
        now = time.time()
        if plan.stop_at is None and (rec.out / STOP_FILE).exists():
            plan.stop_at = now  # workers stop scheduling at the next broadcast
        end = plan.end
        if not isinstance(runner, LocalRunner):  # alone, this process's plan is the plan: nobody to tell
            runner.send_message("loadgate_plan", plan.model_dump(mode="json"))
        _, phase = plan.phase_at(now)
        if plan.t0 <= now:
            gevent.spawn(_set_fault, host, phase)
        rec.sample(now, proc.cpu_percent(None))
        if now >= end:
            drain_until = drain_until or now + plan.drain_s
            if rec.in_flight == 0 or now >= drain_until:
                break
        edges = [b for _, a, b in plan.phase_bounds() if b > now] + [plan.t0] * (now < plan.t0)
        gevent.sleep(min([1.0, *(e - now + 0.001 for e in edges if e > now)]))  # faults switch on the edge
    collect(runner)  # the workers' last increments and their request logs
    STATE.done = True
