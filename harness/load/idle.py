"""The target's own in-flight count (the profile's ``metrics.in_flight``): what the runner records at
the end of a run."""

from __future__ import annotations

import httpx

from harness.target.client import TargetClient


def target_in_flight(target: TargetClient, timeout_s: float = 5.0) -> float | None:
    """The service's in-flight gauge now; None when it exports none or cannot be read."""
    with httpx.Client() as client:
        return target.in_flight(target.scrape(client, timeout_s))

