"""The watchdog's stop says whose failure it is: the target's is the service failing under the load or
fault; any other component's is the run's own."""

from __future__ import annotations

import time

import pytest

from harness.ports import free_port
from harness.schemas.timeline import TARGET_COMPONENT, StopCause
from harness.stack.watchdog import REFUSED_AFTER_S, Watchdog, Watched


@pytest.mark.parametrize(("component", "cause"), [(TARGET_COMPONENT, StopCause.service),
                                                   ("prometheus", StopCause.harness)])
def test_the_first_incident_becomes_a_stop_with_its_cause(component: str, cause: StopCause) -> None:
    url = f"http://127.0.0.1:{free_port()}/healthz"  # nothing listens: refused at once
    watched = Watched(component, url=url)
    dog = Watchdog([watched])
    assert dog.stop_request() is None
    silent_from = time.time() - REFUSED_AFTER_S - 1
    watched.failing_since, watched.refused_only = silent_from, True
    dog.poll()
    stop = dog.stop_request()
    assert stop is not None and stop.cause == cause
    assert stop.since == silent_from and stop.reason.startswith(component)
