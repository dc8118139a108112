"""The target's own in-flight count (the profile's ``metrics.in_flight``), so a rate step starts from
an idle service."""

from __future__ import annotations

import time

import httpx

from harness.errors import LoadError
from harness.target.client import TargetClient


def target_in_flight(target: TargetClient, timeout_s: float = 5.0) -> float | None:
    """The service's in-flight gauge now; None when it exports none or cannot be read."""
    with httpx.Client() as client:
        return target.in_flight(target.scrape(client, timeout_s))


def wait_until_idle(target: TargetClient, timeout_s: float = 60.0, interval_s: float = 0.5,
                    idle_at: float = 1.0) -> float:
    """Block until the target reports no request in progress; LoadError after ``timeout_s``.

    ``idle_at`` is 1 because a service whose middleware counts every route (the bundled one does)
    counts the very /metrics request that reads the gauge. Returns the seconds waited.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = target_in_flight(target)
        if value is not None and value <= idle_at:
            return time.monotonic() - (deadline - timeout_s)
        if time.monotonic() >= deadline:
            gauge = target.profile.metrics.in_flight
            raise LoadError(
                f"the target {target.target_url} still had {value} requests in progress after "
                f"{timeout_s:g} s ({gauge.name if gauge else 'no in-flight gauge mapped'})"
            )
        time.sleep(interval_s)
