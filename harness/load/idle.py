"""The target's own in-flight count (``agent_active_tasks``), so a rate step starts from an idle service."""

from __future__ import annotations

import time

import httpx

from harness.errors import LoadError


def target_in_flight(target_url: str, timeout_s: float = 5.0) -> float | None:
    """The service's ``agent_active_tasks`` now; None when it exports no such gauge or cannot be read."""
    try:
        text = httpx.get(f"{target_url.rstrip('/')}/metrics", timeout=timeout_s).text
    except httpx.HTTPError:
        return None
    values = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("agent_active_tasks") and not line.startswith("agent_active_tasks_")
    ]
    return sum(values) if values else None


def wait_until_idle(
    target_url: str, timeout_s: float = 60.0, interval_s: float = 0.5, idle_at: float = 1.0
) -> float:
    """Block until the target reports no request in progress; LoadError after ``timeout_s``.

    ``idle_at`` is 1 because a service whose middleware counts every route (the bundled one does)
    counts the very /metrics request that reads the gauge. Returns the seconds waited.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = target_in_flight(target_url)
        if value is not None and value <= idle_at:
            return time.monotonic() - (deadline - timeout_s)
        if time.monotonic() >= deadline:
            raise LoadError(
                f"the target {target_url} still had {value} requests in progress after "
                f"{timeout_s:g} s (agent_active_tasks)"
            )
        time.sleep(interval_s)
